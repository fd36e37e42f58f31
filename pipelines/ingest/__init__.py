"""The ingestion pipeline: cron / events -> scheduler -> SQS -> worker -> DynamoDB + S3.

- :mod:`pipelines.ingest.scheduler` plans fetch tasks and puts them on the queue;
- :mod:`pipelines.ingest.worker` runs each message as a task-scoped unit of work: async fetch
  (:mod:`~pipelines.ingest.source`), pandas preprocessing (:mod:`~pipelines.ingest.transform`,
  :mod:`~pipelines.ingest.validation`), conditional upserts and versioned S3 copies
  (:mod:`~pipelines.ingest.store`);
- :mod:`pipelines.ingest.local` runs it off Lambda (demo, benchmarks, end-to-end tests).

Settings are environment variables (:mod:`pipelines.ingest.config`); see docs/ingest.md.
"""
