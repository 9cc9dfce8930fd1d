env            = "dev"
instance_count = 1
