output "function_name" {
  description = "The shipper function."
  value       = module.shipper.function_name
}

output "dashboard_names" {
  description = "The orders dashboard, per pipeline."
  value       = module.observability.dashboard_names
}

output "alarm_names" {
  description = "The deployed alarms (the one on OrdersRejected)."
  value       = module.observability.alarm_names
}
