terraform {
  # Provider-less: reads and checks the JSON that `observe dashboards build` writes, so the
  # shaping is tested offline with `terraform test`. The observability module turns it into resources.
  required_version = ">= 1.5"
}
