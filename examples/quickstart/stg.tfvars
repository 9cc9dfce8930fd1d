env            = "stg"
instance_count = 1
