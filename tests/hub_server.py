"""A Hugging Face Hub stand-in on 127.0.0.1 for tests: the endpoints that ``huggingface_hub``
calls to download files (with ``ETag`` and ``X-Repo-Commit``) and to publish them (create repo,
preupload, commit, tag). Repos live in memory; private ones need the server's token."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

TOKEN = "hf_test_token"


@dataclass
class Repo:
    private: bool = False
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def commit(self, files: dict[str, bytes], parent: str | None = None) -> str:
        tree = dict(self.commits.get(parent or self.refs.get("main", ""), {}))
        tree.update(files)
        digest = hashlib.sha1(
            json.dumps(sorted((k, hashlib.sha1(v).hexdigest()) for k, v in tree.items())).encode()
        )
        sha = digest.hexdigest()
        self.commits[sha] = tree
        self.refs["main"] = sha
        return sha

    def resolve(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


class HubStandIn:
    """``with HubStandIn() as hub:`` serves until the block ends; ``hub.stop()`` earlier."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[str] = []
        self.cards: list[dict] = []  # model card metadata that passed validation
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_folder(self, repo_id: str, folder: Path, private: bool = False, tag: str | None = None) -> str:
        repo = self.repos.setdefault(repo_id, Repo(private=private))
        sha = repo.commit({p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})
        if tag:
            repo.refs[tag] = sha
        return sha

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


def _handler(hub: HubStandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        # --- helpers -------------------------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, data, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

        def _error(self, status: int, code: str, message: str, head: bool = False) -> None:
            body = json.dumps({"error": message}).encode()
            self._send(status, body, {"X-Error-Code": code, "X-Error-Message": message}, head)

        def _authorised(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def _repo(self, repo_id: str, head: bool = False) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not self._authorised()):
                self._error(404 if repo is None else 401, "RepoNotFound", "Repository not found", head)
                return None
            return repo

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        # --- routes --------------------------------------------------------------------------
        def do_HEAD(self) -> None:
            self._get(head=True)

        def do_GET(self) -> None:
            self._get(head=False)

        def _get(self, head: bool) -> None:
            hub.requests.append(f"{self.command} {self.path}")
            parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
            if len(parts) >= 5 and parts[2] == "resolve":
                self._file("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
            elif parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
                self._info("/".join(parts[2:4]), parts[5], listing=parts[4] == "tree")
            elif parts[:2] == ["api", "models"] and len(parts) == 4:
                self._info("/".join(parts[2:4]), "main", listing=False)
            else:
                self._error(404, "NotFound", f"no route for {self.path}", head)

        def _file(self, repo_id: str, revision: str, path: str, head: bool) -> None:
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            sha = repo.resolve(revision)
            if sha is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
                return
            data = repo.commits[sha].get(path)
            if data is None:
                self._error(404, "EntryNotFound", f"{path} does not exist", head)
                return
            etag = '"' + hashlib.sha256(data).hexdigest() + '"'
            self._send(200, data, {"ETag": etag, "X-Repo-Commit": sha}, head)

        def _info(self, repo_id: str, revision: str, listing: bool) -> None:
            repo = self._repo(repo_id)
            if repo is None:
                return
            sha = repo.resolve(revision)
            if sha is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            files = repo.commits[sha]
            if listing:
                entries = [
                    {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    for name, data in sorted(files.items())
                ]
                self._json(entries)
            else:
                siblings = [{"rfilename": name} for name in sorted(files)]
                self._json({"id": repo_id, "sha": sha, "private": repo.private, "siblings": siblings})

        def do_POST(self) -> None:
            hub.requests.append(f"POST {self.path}")
            body = self._body()
            if not self._authorised():
                self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
                return
            parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
            if parts == ["api", "validate-yaml"]:
                self._validate_card(json.loads(body)["content"])
            elif parts == ["api", "repos", "create"]:
                payload = json.loads(body)
                repo_id = f"{payload['organization']}/{payload['name']}"
                if repo_id in hub.repos:
                    self._error(409, "RepoExists", "You already created this model repo")
                    return
                hub.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
                self._json({"url": f"{hub.url}/{repo_id}", "name": repo_id})
            elif parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "preupload":
                files = json.loads(body)["files"]
                self._json(
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                        ]
                    }
                )
            elif parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "commit":
                self._commit("/".join(parts[2:4]), body)
            elif parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tag":
                repo = self._repo("/".join(parts[2:4]))
                if repo is not None:
                    repo.refs[json.loads(body)["tag"]] = repo.resolve(parts[5]) or ""
                    self._json({})
            else:
                self._error(404, "NotFound", f"no route for {self.path}")

        def _validate_card(self, content: str) -> None:
            """Like the Hub: the card's front matter must be a YAML mapping, and model-index a list."""
            import yaml

            front = content.split("---")[1] if content.startswith("---") else ""
            metadata = yaml.safe_load(front) if front else None
            if not isinstance(metadata, dict) or not isinstance(metadata.get("model-index", []), list):
                self._json({"errors": [{"message": "metadata is not a mapping"}]}, status=400)
                return
            hub.cards.append(metadata)
            self._json({"errors": [], "warnings": []})

        def _commit(self, repo_id: str, body: bytes) -> None:
            repo = self._repo(repo_id)
            if repo is None:
                return
            files = {}
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            sha = repo.commit(files)
            self._json({"commitUrl": f"{hub.url}/{repo_id}/commit/{sha}", "commitOid": sha})

    return Handler
