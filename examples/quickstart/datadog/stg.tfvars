env = "stg"
