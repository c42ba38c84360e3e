"""The review loop with a Label Studio server: push a review sample as a project, pull the
reviewers' annotations as an export into the review inbox (where `review_inbox_sensor`
picks it up). Runs with Label Studio's own Python (its SDK, `label-studio-sdk`, comes with
it; it is not a dependency of the platform):

    .venv-label-studio/bin/python scripts/label_studio_review.py push \\
        --url http://127.0.0.1:8080 --token $LABEL_STUDIO_TOKEN --sample data/review/samples/<hash>
    .venv-label-studio/bin/python scripts/label_studio_review.py pull \\
        --url http://127.0.0.1:8080 --token $LABEL_STUDIO_TOKEN --project 1 --inbox data/inbox/review

`push` creates the project with the sample's `label_studio_config.xml` and imports
`label_studio_tasks.json`; `pull` writes the JSON export atomically as
`label-studio-<project>-<time>.json`. `annotate` submits verdicts as one reviewer (their own
token), the way the labelling UI does: the tests use it to play two reviewers."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def client(url: str, token: str):
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=url, api_key=token)


def push(args: argparse.Namespace) -> int:
    ls = client(args.url, args.token)
    sample = Path(args.sample)
    config = (sample / "label_studio_config.xml").read_text("utf-8")
    tasks = json.loads((sample / "label_studio_tasks.json").read_text("utf-8"))
    project = ls.projects.create(title=args.title or f"review {sample.name}"[:50], label_config=config)
    ls.projects.import_tasks(id=project.id, request=tasks)
    n = sum(1 for _ in ls.tasks.list(project=project.id))
    print(json.dumps({"project": project.id, "tasks": n}))
    return 0


def annotate(args: argparse.Namespace) -> int:
    """Verdicts {item_id: "correct" | "incorrect"} (a JSON file) submitted as the token's user."""
    ls = client(args.url, args.token)
    verdicts = json.loads(Path(args.verdicts).read_text("utf-8"))
    done = 0
    for task in ls.tasks.list(project=args.project):
        verdict = verdicts.get(task.data.get("item_id"))
        if verdict is None:
            continue
        result = [{"from_name": "verdict", "to_name": "text", "type": "choices", "value": {"choices": [verdict]}}]
        if args.quality:
            result.append({"from_name": "quality", "to_name": "text", "type": "rating", "value": {"rating": args.quality}})
        ls.annotations.create(id=task.id, result=result, lead_time=1.0)
        done += 1
    print(json.dumps({"annotated": done}))
    return 0


def pull(args: argparse.Namespace) -> int:
    ls = client(args.url, args.token)
    tasks = ls.projects.exports.as_json(project_id=args.project)
    emails = {u.id: u.email for u in ls.users.list()}
    for t in tasks:  # reviewers by e-mail, not by database id, in the verdict tables
        for a in t.get("annotations") or []:
            if isinstance(a.get("completed_by"), int):
                a["completed_by"] = {"id": a["completed_by"], "email": emails.get(a["completed_by"])}
    inbox = Path(args.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    final = inbox / f"label-studio-{args.project}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=inbox)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(tasks, fh, ensure_ascii=False)
    os.replace(tmp, final)
    print(json.dumps({"export": str(final), "tasks": len(tasks), "annotations": sum(len(t.get("annotations") or []) for t in tasks)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("push", "annotate", "pull"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--token", default=os.environ.get("LABEL_STUDIO_TOKEN"), help="API token (default $LABEL_STUDIO_TOKEN)")
        if name == "push":
            p.add_argument("--sample", required=True, help="a review sample folder (label_studio_tasks.json, label_studio_config.xml)")
            p.add_argument("--title")
        else:
            p.add_argument("--project", type=int, required=True)
        if name == "annotate":
            p.add_argument("--verdicts", required=True, help="JSON {item_id: correct|incorrect}")
            p.add_argument("--quality", type=int, help="a 1-5 rating added to every annotation")
        if name == "pull":
            p.add_argument("--inbox", required=True, help="the review inbox (data/inbox/review)")
    args = ap.parse_args(argv)
    if not args.token:
        print("error: no API token (--token or $LABEL_STUDIO_TOKEN)", file=sys.stderr)
        return 2
    return {"push": push, "annotate": annotate, "pull": pull}[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
