"""Where project code comes from: a local folder, or a git repository at a commit (cloned)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from lockgate.errors import InvalidArgument, NotFound

__all__ = ["ProjectSource", "fetch", "is_git_uri"]


@dataclass
class ProjectSource:
    """A checked-out project folder with the git state it came from."""

    uri: str
    directory: Path
    commit: str | None
    dirty: bool
    repo: str | None  # what `git clone` takes to get the code again
    subdirectory: str
    tempdir: tempfile.TemporaryDirectory[str] | None = None

    def cleanup(self) -> None:
        if self.tempdir is not None:
            self.tempdir.cleanup()


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, text=True, timeout=600)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout.strip()


def is_git_uri(uri: str) -> bool:
    """True for URIs that name a repository to clone (``file:///x.git``, ``https://...``, ``git@``)."""
    base = uri.split("#", 1)[0]
    return (base.startswith(("git@", "git+", "https://", "http://", "ssh://"))
            or (base.startswith("file://") and (base.endswith(".git") or Path(urlparse(base).path, ".git").exists())))


def _local_state(directory: Path) -> tuple[str | None, bool, str | None, str]:
    try:
        top = Path(_git("rev-parse", "--show-toplevel", cwd=directory))
        commit = _git("rev-parse", "HEAD", cwd=directory)
        if not _git("ls-files", "--", ".", cwd=directory):
            return None, False, None, ""  # inside a repository, but none of it is committed
        # New files count: a re-run from the commit would not have them.
        dirty = bool(_git("status", "--porcelain", "--untracked-files=normal", "--", ".", cwd=directory))
    except (OSError, subprocess.CalledProcessError):
        return None, False, None, ""
    sub = directory.resolve().relative_to(top.resolve()).as_posix()
    return commit, dirty, str(top), "" if sub == "." else sub


def fetch(uri: str, *, version: str | None = None) -> ProjectSource:
    """The project at ``uri`` (``path``, ``path#subdir`` or a git URI) at ``version``, if given."""
    base, _, sub = uri.partition("#")
    sub = sub.strip("/")
    if ".." in Path(sub).parts:
        raise InvalidArgument(f"Project subdirectory {sub!r} may not leave the repository.")
    if not is_git_uri(uri) and version is None:
        directory = (Path(base).expanduser() / sub).resolve()
        if not directory.is_dir():
            raise NotFound(f"Project folder {str(directory)!r} does not exist.")
        commit, dirty, top, rel = _local_state(directory)
        return ProjectSource(uri=uri, directory=directory, commit=commit, dirty=dirty, repo=top,
                             subdirectory=rel)
    repo = base
    if not is_git_uri(uri):  # a local folder at a given commit: clone its repository
        commit, _dirty, top, rel = _local_state(Path(base).expanduser() / sub)
        if top is None:
            raise InvalidArgument(f"-v {version} needs a git repository; {base!r} is not in one.")
        repo, sub = top, rel
    tmp = tempfile.TemporaryDirectory(prefix="lockgate-project-")
    checkout = Path(tmp.name) / "repo"
    try:
        try:
            _git("clone", "--quiet", "--no-checkout", repo, str(checkout))
        except subprocess.CalledProcessError as exc:
            raise NotFound(f"Cannot clone git repository {repo!r}: {exc.stderr.strip()}") from None
        try:
            _git("checkout", "--quiet", version or "HEAD", cwd=checkout)
        except subprocess.CalledProcessError:
            raise NotFound(f"Git repository {repo!r} has no commit or branch {version!r}.") from None
        commit = _git("rev-parse", "HEAD", cwd=checkout)
        directory = (checkout / sub).resolve()
        if not directory.is_dir():
            raise NotFound(f"Git repository {repo!r} at {commit[:12]} has no folder {sub!r}.")
    except BaseException:
        tmp.cleanup()
        raise
    return ProjectSource(uri=uri, directory=directory, commit=commit, dirty=False, repo=repo,
                         subdirectory=sub, tempdir=tmp)
