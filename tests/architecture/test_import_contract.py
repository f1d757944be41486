"""shared_apps and tenants never import tenant_apps (import-linter contract in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_shared_code_never_imports_tenant_code():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
