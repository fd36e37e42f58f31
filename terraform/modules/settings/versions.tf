terraform {
  # Provider-less on purpose: pure logic, so `terraform init -backend=false` and `terraform test`
  # run offline. Resource modules carry the aws provider constraint instead.
  required_version = ">= 1.5"
}
