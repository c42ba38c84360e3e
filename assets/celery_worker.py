"""The Celery app the workers run (`celery -A curation_platform.assets.celery_worker worker -Q dagster`):
dagster-celery's tasks, with the broker and backend from this project's config, so workers
and the run process can never disagree on them."""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from curation_platform.assets.executors import celery_settings
from curation_platform.settings import load_config

app = make_app(celery_settings(load_config()))
execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
