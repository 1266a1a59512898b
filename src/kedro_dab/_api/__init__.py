"""The functions behind `kedro_dab.api`, one module per command family; import them from
`kedro_dab.api`."""
