"""CloudWatch dashboards and alarms as code, built from :mod:`observe.catalogue`.

Following cdk-monitoring-constructs: :mod:`dashboards.factory` says *which metrics* (a metric
spec per catalogued name, per service, with extra dimensions and metric math for rates);
:mod:`dashboards.monitoring` says *which widgets and which alarms*; :mod:`dashboards.config`
says which pipelines and services exist and which alarms each opts into, with their severity.
Every alarm's threshold is drawn on the widget that shows its metric.

``observe dashboards build --out terraform/generated`` (:mod:`dashboards.build`) writes, per
pipeline and environment, ``<pipeline>.<env>.dashboard.json`` (a dashboard body) and
``<pipeline>.<env>.alarms.json`` (alarm specs), and ``observe.json`` naming them; the files hold
the placeholders ``${environment}``, ``${region}`` and ``${namespace}`` that terraform's
``templatefile`` fills in.
"""

PLACEHOLDERS = ("${environment}", "${region}", "${namespace}")
