"""Bundle files: render a Plan, write the files kedro-dab owns, scaffold and validate."""
