"""A Python Celery 5 peer of the service, for the interop tests (test/contract/celery-python.test.ts).

    celery_peer.py send BROKER QUEUE TASK_NAME TASK_ID   -- what docs/celery-protocol.md tells a Python user to write
    celery_peer.py worker BROKER QUEUE OUT_FILE          -- a Celery worker that records every scrape.* task it runs
"""
import json
import sys

from celery import Celery


def app_for(broker):
    app = Celery(broker=broker)
    # There is no result backend: the service keeps state in its task store.
    app.conf.task_ignore_result = True
    app.conf.broker_connection_retry_on_startup = True
    app.conf.worker_hijack_root_logger = False
    return app


def send(broker, queue, task_name, task_id):
    app = app_for(broker)
    result = app.send_task(task_name, args=[task_id], queue=queue)
    print(json.dumps({"sent": task_name, "task_id": task_id, "celery_id": result.id}), flush=True)


def worker(broker, queue, out_file):
    app = app_for(broker)

    def record(name):
        def run(*args, **kwargs):
            with open(out_file, "a", encoding="utf-8") as out:
                out.write(json.dumps({"task": name, "args": list(args), "kwargs": kwargs}) + "\n")
        return run

    for name in ("scrape.text", "scrape.images"):
        app.task(name=name)(record(name))
    app.worker_main(["worker", "-Q", queue, "--pool=solo", "--concurrency=1", "--without-heartbeat",
                     "--without-gossip", "--without-mingle", "--loglevel=WARNING"])


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    {"send": send, "worker": worker}[mode](*rest)
