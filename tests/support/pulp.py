"""A small client of the Pulp REST API for tests and the sample (plain requests)."""

import time
import uuid

import requests

API = "http://127.0.0.1:24817"
CONTENT = "http://127.0.0.1:24816"
V3 = "/pulp/api/v3/"


class TaskFailed(Exception):
    def __init__(self, task):
        self.task = task
        super().__init__(f"task {task['pulp_href']} failed: {task.get('error')}")


class PulpAPI:
    def __init__(self, base=API, auth=("admin", "password")):
        self.base = base
        self.session = requests.Session()
        self.session.auth = auth

    def url(self, path):
        if path.startswith("http"):
            return path
        if not path.startswith("/"):
            path = V3 + path
        return self.base + path

    def request(self, method, path, expect=(200, 201, 202, 204), **kwargs):
        response = self.session.request(method, self.url(path), timeout=60, **kwargs)
        if expect and response.status_code not in expect:
            raise AssertionError(
                f"{method} {path} -> {response.status_code}: {response.text[:2000]}"
            )
        return response

    def get(self, path, **params):
        return self.request("GET", path, params=params).json()

    def list(self, path, **params):
        """Every result of a paginated list."""
        results = []
        page = self.get(path, limit=200, **params)
        while True:
            results.extend(page["results"])
            if not page.get("next"):
                return results
            page = self.get(page["next"])

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, json=body or {}, **kwargs).json()

    def patch(self, path, body):
        return self.request("PATCH", path, json=body).json()

    def delete(self, path):
        response = self.request("DELETE", path, expect=(202, 204, 404))
        if response.status_code == 202:
            self.wait(response.json()["task"])

    def wait(self, task_href, timeout=600, raise_on_failure=True):
        """Poll a task until it ends."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get(task_href)
            if task["state"] in ("completed", "failed", "canceled"):
                if task["state"] != "completed" and raise_on_failure:
                    raise TaskFailed(task)
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_href} still {task['state']} after {timeout}s")
            time.sleep(0.2)

    def wait_group(self, group_href, ended=None, timeout=600):
        """Poll a task group until no task of it waits or runs (and ``ended(group)`` holds).

        ``ended`` says when a group pulpcore never marks all dispatched is done: its tasks
        may be idle between one dispatching the next (replication).
        """
        deadline = time.monotonic() + timeout
        while True:
            group = self.get(group_href)
            idle = not group["waiting"] + group["running"] + group["canceling"]
            if group["tasks"] and idle and (ended is None or ended(group)):
                return group
            if time.monotonic() > deadline:
                raise TimeoutError(f"task group {group_href} still running: {group['tasks']}")
            time.sleep(0.2)

    def create(self, path, body):
        """Create a resource, waiting for the task when creation is asynchronous."""
        response = self.request("POST", path, json=body)
        data = response.json()
        if response.status_code == 202:
            task = self.wait(data["task"])
            return self.get(task["created_resources"][0])
        return data

    def sync(self, repository, remote=None, mirror=False, raise_on_failure=True):
        body = {"mirror": mirror}
        if remote:
            body["remote"] = remote["pulp_href"]
        task = self.post(f"{repository['pulp_href']}sync/", body)
        return self.wait(task["task"], raise_on_failure=raise_on_failure)

    def trees(self, repository_version_href):
        return self.list("content/kickstart/trees/", repository_version=repository_version_href)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
