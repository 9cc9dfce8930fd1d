env = "prd"
