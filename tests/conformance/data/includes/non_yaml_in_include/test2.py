print("Hello again")
