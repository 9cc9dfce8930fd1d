env            = "prd"
instance_count = 3
