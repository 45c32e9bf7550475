"""Celery workers: queues `gpu` (analyze, render) and `cpu` (release watermarking, packages, the retention reaper).
Tasks call `redactor.jobs.runner.run_job` and nothing more."""
