"""In-memory workspace file tree and Unity Catalog volumes, with Databricks' rules and errors.

Workspace paths are kept in their ``/Workspace/...`` form: ``/Users/x`` and ``/Workspace/Users/x``
name the same object, as on Databricks. Answers echo the form the caller used.
"""

from __future__ import annotations

import base64
import io
import itertools
import posixpath
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid, not_emulated, not_found, permission_denied

WORKSPACE_ROOT = "/Workspace"
NOTEBOOK_HEADERS: dict[str, tuple[str, bytes]] = {
    ".py": ("PYTHON", b"# Databricks notebook source"),
    ".sql": ("SQL", b"-- Databricks notebook source"),
    ".scala": ("SCALA", b"// Databricks notebook source"),
    ".r": ("R", b"# Databricks notebook source"),
}
_EXPORT_EXTENSIONS = {"PYTHON": "py", "SQL": "sql", "SCALA": "scala", "R": "r"}


def now_ms() -> int:
    """Current time in epoch milliseconds."""
    return int(time.time() * 1000)


def _normalize(path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid(f"Path ({path}) is not absolute: workspace paths must start with '/'")
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


def canonical_workspace_path(path: str) -> str:
    """The ``/Workspace/...`` form of an absolute workspace path."""
    normalized = _normalize(path)
    if normalized in ("/", WORKSPACE_ROOT):
        return WORKSPACE_ROOT
    if normalized.startswith(WORKSPACE_ROOT + "/"):
        return normalized
    return WORKSPACE_ROOT + normalized


def display_path(canonical: str, requested: str) -> str:
    """``canonical`` in the form (with or without ``/Workspace``) of the path the caller sent."""
    if _normalize(requested).startswith(WORKSPACE_ROOT):
        return canonical
    return canonical[len(WORKSPACE_ROOT) :] or "/"


def _parents(path: str) -> list[str]:
    """The ancestors of a canonical path, outermost first, excluding the path itself."""
    parents: list[str] = []
    current = posixpath.dirname(path)
    while current and current != "/":
        parents.append(current)
        current = posixpath.dirname(current)
    return list(reversed(parents))


@dataclass
class WorkspaceObject:
    """One object of the workspace tree."""

    object_type: str
    object_id: int
    content: bytes = b""
    language: str | None = None
    created_at: int = field(default_factory=now_ms)
    modified_at: int = field(default_factory=now_ms)


class WorkspaceTree:
    """The workspace file system: directories, files and notebooks."""

    def __init__(self, user_name: str) -> None:
        self.user_name = user_name
        self.home = f"{WORKSPACE_ROOT}/Users/{user_name}"
        self.objects: dict[str, WorkspaceObject] = {}
        self.denied_prefixes: list[str] = []
        self._ids: Iterator[int] = itertools.count(3_141_592_653_589)
        for path in (
            WORKSPACE_ROOT,
            f"{WORKSPACE_ROOT}/Users",
            self.home,
            f"{WORKSPACE_ROOT}/Shared",
        ):
            self.objects[path] = WorkspaceObject("DIRECTORY", next(self._ids))

    # ----------------------------------------------------------------- helpers

    def _protected(self) -> set[str]:
        return {WORKSPACE_ROOT, f"{WORKSPACE_ROOT}/Users", self.home, f"{WORKSPACE_ROOT}/Shared"}

    def check_writable(self, path: str) -> None:
        """403 unless the caller may write ``path`` (its home, /Shared, and nothing denied)."""
        allowed = any(
            path == root or path.startswith(root + "/")
            for root in (self.home, f"{WORKSPACE_ROOT}/Shared")
        )
        denied = any(
            path == p or path.startswith(p.rstrip("/") + "/") for p in self.denied_prefixes
        )
        if not allowed or denied:
            raise permission_denied(
                f"User {self.user_name} does not have Edit permissions on {path}."
            )

    def _get(self, path: str, requested: str) -> WorkspaceObject:
        obj = self.objects.get(path)
        if obj is None:
            raise not_found(f"Path ({requested}) doesn't exist.")
        return obj

    def children(self, path: str) -> list[str]:
        """The direct children of a directory, sorted."""
        prefix = path.rstrip("/") + "/"
        return sorted(
            p for p in self.objects if p.startswith(prefix) and "/" not in p[len(prefix) :]
        )

    def descendants(self, path: str) -> list[str]:
        """Every object under ``path`` (not ``path`` itself)."""
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self.objects if p.startswith(prefix))

    def info(self, path: str, requested: str) -> dict[str, Any]:
        """The ObjectInfo of ``path`` as the API answers it."""
        obj = self.objects[path]
        info: dict[str, Any] = {
            "object_type": obj.object_type,
            "path": display_path(path, requested),
            "object_id": obj.object_id,
            "resource_id": str(obj.object_id),
            "created_at": obj.created_at,
            "modified_at": obj.modified_at,
        }
        if obj.object_type == "FILE":
            info["size"] = len(obj.content)
        if obj.object_type == "NOTEBOOK" and obj.language:
            info["language"] = obj.language
        return info

    def _require_parent(self, path: str, requested: str) -> None:
        parent = posixpath.dirname(path)
        obj = self.objects.get(parent)
        if obj is None:
            raise not_found(
                f"The parent folder ({display_path(parent, requested)}) of {requested} "
                "does not exist."
            )
        if obj.object_type != "DIRECTORY":
            raise ApiError(
                400,
                "RESOURCE_ALREADY_EXISTS",
                f"{display_path(parent, requested)} already exists and it is not a folder",
            )

    # -------------------------------------------------------------- operations

    def get_status(self, requested: str) -> dict[str, Any]:
        """``workspace/get-status``."""
        path = canonical_workspace_path(requested)
        self._get(path, requested)
        return self.info(path, requested)

    def mkdirs(self, requested: str) -> None:
        """``workspace/mkdirs``: creates the directory and its parents (like ``mkdir -p``)."""
        path = canonical_workspace_path(requested)
        for current in [*_parents(path), path]:
            obj = self.objects.get(current)
            if obj is None:
                self.check_writable(current)
                self.objects[current] = WorkspaceObject("DIRECTORY", next(self._ids))
            elif obj.object_type != "DIRECTORY":
                raise ApiError(
                    400,
                    "RESOURCE_ALREADY_EXISTS",
                    f"{display_path(current, requested)} already exists and it is not a folder",
                )

    def list(self, requested: str) -> list[dict[str, Any]]:
        """``workspace/list``: a directory's children, or the object itself when it is not one."""
        path = canonical_workspace_path(requested)
        obj = self._get(path, requested)
        if obj.object_type != "DIRECTORY":
            return [self.info(path, requested)]
        return [self.info(child, requested) for child in self.children(path)]

    def delete(self, requested: str, recursive: bool) -> None:
        """``workspace/delete``: a non-empty directory needs ``recursive``."""
        path = canonical_workspace_path(requested)
        obj = self._get(path, requested)
        if path in self._protected():
            raise permission_denied(f"Cannot delete {requested}.")
        self.check_writable(path)
        inner = self.descendants(path)
        if obj.object_type == "DIRECTORY" and inner and not recursive:
            raise ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({requested}) is not empty.")
        for child in inner:
            del self.objects[child]
        del self.objects[path]

    def _store(
        self,
        path: str,
        object_type: str,
        content: bytes,
        language: str | None,
        overwrite: bool,
        requested: str,
        *,
        exists_status: int,
    ) -> None:
        self.check_writable(path)
        self._require_parent(path, requested)
        existing = self.objects.get(path)
        if existing is not None:
            if existing.object_type == "DIRECTORY":
                raise ApiError(
                    400, "RESOURCE_ALREADY_EXISTS", f"Path ({requested}) already exists."
                )
            if not overwrite:
                if existing.object_type == "FILE" and exists_status == 409:
                    raise ApiError(
                        409, "RESOURCE_ALREADY_EXISTS", f"File already exists at ({requested})."
                    )
                raise ApiError(
                    400, "RESOURCE_ALREADY_EXISTS", f"Path ({requested}) already exists."
                )
            existing.object_type = object_type
            existing.content = content
            existing.language = language
            existing.modified_at = now_ms()
            return
        self.objects[path] = WorkspaceObject(object_type, next(self._ids), content, language)

    @staticmethod
    def _auto_kind(path: str, content: bytes) -> tuple[str, str, str | None]:
        """(target path, object type, language) for a file imported with detection."""
        stem, ext = posixpath.splitext(path)
        spec = NOTEBOOK_HEADERS.get(ext.lower())
        if spec is not None and content.lstrip().startswith(spec[1]):
            return stem, "NOTEBOOK", spec[0]
        if ext.lower() == ".ipynb":
            return stem, "NOTEBOOK", "PYTHON"
        return path, "FILE", None

    def import_(
        self,
        requested: str,
        content: bytes,
        fmt: str | None,
        language: str | None,
        overwrite: bool,
    ) -> None:
        """``workspace/import`` (format defaults to SOURCE, which makes a notebook)."""
        path = canonical_workspace_path(requested)
        fmt = fmt or "SOURCE"
        if fmt == "SOURCE":
            if not language:
                raise invalid(
                    f"The language must be specified when importing {requested} with format SOURCE."
                )
            self._store(
                path, "NOTEBOOK", content, language, overwrite, requested, exists_status=400
            )
        elif fmt == "AUTO":
            target, kind, lang = self._auto_kind(path, content)
            self._store(target, kind, content, lang, overwrite, requested, exists_status=400)
        elif fmt == "RAW":
            self._store(path, "FILE", content, None, overwrite, requested, exists_status=400)
        elif fmt == "JUPYTER":
            self._store(
                path, "NOTEBOOK", content, "PYTHON", overwrite, requested, exists_status=400
            )
        else:
            raise not_emulated(f"Import format {fmt}")

    def import_file(self, requested: str, content: bytes, overwrite: bool) -> None:
        """``workspace-files/import-file``: 404 when the parent folder is missing."""
        path = canonical_workspace_path(requested)
        target, kind, lang = self._auto_kind(path, content)
        self._store(target, kind, content, lang, overwrite, requested, exists_status=409)

    def export(self, requested: str, fmt: str | None) -> tuple[bytes, str]:
        """``workspace/export``: (content, file type)."""
        path = canonical_workspace_path(requested)
        obj = self._get(path, requested)
        fmt = fmt or "SOURCE"
        if obj.object_type == "DIRECTORY":
            if fmt not in ("SOURCE", "AUTO"):
                raise not_emulated(f"Export of a directory as {fmt}")
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for inner in self.descendants(path):
                    child = self.objects[inner]
                    if child.object_type != "DIRECTORY":
                        archive.writestr(inner[len(path) + 1 :], child.content)
            return buffer.getvalue(), "zip"
        if fmt not in ("SOURCE", "AUTO", "RAW"):
            raise not_emulated(f"Export format {fmt}")
        if obj.object_type == "NOTEBOOK":
            return obj.content, _EXPORT_EXTENSIONS.get(obj.language or "", "")
        return obj.content, posixpath.splitext(path)[1].lstrip(".")

    def put_file(self, requested: str, content: bytes) -> None:
        """Test setup: writes a file, creating its parents, bypassing permissions."""
        path = canonical_workspace_path(requested)
        for parent in _parents(path):
            if parent not in self.objects:
                self.objects[parent] = WorkspaceObject("DIRECTORY", next(self._ids))
        self.objects[path] = WorkspaceObject("FILE", next(self._ids), content)


def encode_content(content: bytes) -> str:
    """Base64 text as the Workspace API carries file content."""
    return base64.b64encode(content).decode("ascii")


# ------------------------------------------------------------------- volumes


def files_not_found(message: str) -> ApiError:
    """404 NOT_FOUND (Files API style)."""
    return ApiError(404, "NOT_FOUND", message)


def files_already_exists(message: str) -> ApiError:
    """409 ALREADY_EXISTS (Files API style)."""
    return ApiError(409, "ALREADY_EXISTS", message)


@dataclass
class VolumeFile:
    """One file in a volume."""

    content: bytes
    modified_at: int = field(default_factory=now_ms)


@dataclass
class Volume:
    """A declared Unity Catalog volume."""

    catalog: str
    schema: str
    name: str
    writable: bool = True

    @property
    def root(self) -> str:
        """``/Volumes/<catalog>/<schema>/<volume>``."""
        return f"/Volumes/{self.catalog}/{self.schema}/{self.name}"


class VolumeStore:
    """Files and directories in the declared volumes (the Files API's view)."""

    def __init__(self) -> None:
        self.volumes: dict[str, Volume] = {}
        self.files: dict[str, VolumeFile] = {}
        self.directories: set[str] = set()

    def add_volume(self, catalog: str, schema: str, name: str, *, writable: bool = True) -> Volume:
        """Declares a volume; only declared volumes exist."""
        volume = Volume(catalog, schema, name, writable)
        self.volumes[volume.root] = volume
        self.directories.add(volume.root)
        return volume

    def resolve(self, path: str) -> tuple[str, Volume]:
        """(normalized path, its volume); 400 outside /Volumes, 404 for an undeclared volume."""
        normalized = _normalize(path)
        parts = normalized.split("/")
        if len(parts) < 5 or parts[1] != "Volumes":
            raise invalid(
                f"Path {path} is not in a Unity Catalog volume "
                "(expected /Volumes/<catalog>/<schema>/<volume>/...)."
            )
        root = "/".join(parts[:5])
        volume = self.volumes.get(root)
        if volume is None:
            raise files_not_found(f"Volume '{parts[2]}.{parts[3]}.{parts[4]}' does not exist.")
        return normalized, volume

    def _check_writable(self, volume: Volume, path: str) -> None:
        if not volume.writable:
            raise permission_denied(f"User does not have WRITE VOLUME on Volume '{volume.root}'.")

    def _make_parents(self, path: str, root: str) -> None:
        for parent in _parents(path):
            if len(parent) < len(root):
                continue
            if parent in self.files:
                raise files_already_exists(f"A file exists at {parent}, a parent of {path}.")
            self.directories.add(parent)

    def put_file(self, path: str, content: bytes, overwrite: bool) -> None:
        """PUT ``fs/files``: makes parent directories; 409 on an existing file without overwrite."""
        normalized, volume = self.resolve(path)
        self._check_writable(volume, normalized)
        if normalized in self.directories:
            raise files_already_exists(f"A directory exists at {normalized}.")
        if normalized in self.files and not overwrite:
            raise files_already_exists("The file being created already exists.")
        self._make_parents(normalized, volume.root)
        self.files[normalized] = VolumeFile(content)

    def get_file(self, path: str) -> VolumeFile:
        """GET/HEAD ``fs/files``."""
        normalized, _ = self.resolve(path)
        found = self.files.get(normalized)
        if found is None:
            raise files_not_found(f"The file {normalized} does not exist.")
        return found

    def delete_file(self, path: str) -> None:
        """DELETE ``fs/files``."""
        normalized, volume = self.resolve(path)
        if normalized not in self.files:
            raise files_not_found(f"The file {normalized} does not exist.")
        self._check_writable(volume, normalized)
        del self.files[normalized]

    def make_directory(self, path: str) -> None:
        """PUT ``fs/directories``: idempotent ``mkdir -p``."""
        normalized, volume = self.resolve(path)
        self._check_writable(volume, normalized)
        if normalized in self.files:
            raise files_already_exists(f"A file exists at {normalized}.")
        self._make_parents(normalized, volume.root)
        self.directories.add(normalized)

    def require_directory(self, path: str) -> str:
        """HEAD ``fs/directories``: 404 unless the directory exists."""
        normalized, _ = self.resolve(path)
        if normalized not in self.directories:
            raise files_not_found(f"The directory {normalized} does not exist.")
        return normalized

    def list_directory(self, path: str) -> list[dict[str, Any]]:
        """GET ``fs/directories``: the direct children as DirectoryEntry objects, sorted by name."""
        normalized = self.require_directory(path)
        prefix = normalized + "/"
        entries: list[dict[str, Any]] = []
        for directory in self.directories:
            if directory.startswith(prefix) and "/" not in directory[len(prefix) :]:
                entries.append(
                    {"path": directory, "is_directory": True, "name": posixpath.basename(directory)}
                )
        for file_path, item in self.files.items():
            if file_path.startswith(prefix) and "/" not in file_path[len(prefix) :]:
                entries.append(
                    {
                        "path": file_path,
                        "is_directory": False,
                        "file_size": len(item.content),
                        "last_modified": item.modified_at,
                        "name": posixpath.basename(file_path),
                    }
                )
        return sorted(entries, key=lambda entry: str(entry["name"]))

    def delete_directory(self, path: str) -> None:
        """DELETE ``fs/directories``: only an empty directory, never the volume root."""
        normalized, volume = self.resolve(path)
        if normalized not in self.directories:
            raise files_not_found(f"The directory {normalized} does not exist.")
        if normalized == volume.root:
            raise permission_denied(f"Cannot delete the root of volume {volume.root}.")
        self._check_writable(volume, normalized)
        prefix = normalized + "/"
        if any(p.startswith(prefix) for p in itertools.chain(self.files, self.directories)):
            raise ApiError(
                400,
                "BAD_REQUEST",
                f"The directory {normalized} is not empty.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "FILES_API_DIRECTORY_IS_NOT_EMPTY",
                        "domain": "filesystem.databricks.com",
                    }
                ],
            )
        self.directories.discard(normalized)
