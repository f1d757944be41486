"""The import boundaries: every import-linter contract in pyproject.toml is kept (layers, the core floor, the engine's
ports, providers and catalog, channels through conversations' services), and no module imports itself back."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "tenants", "shared_apps", "tenant_apps")


def test_every_import_contract_is_kept():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_itself_back():
    """Import loops (services -> tasks -> services, an engine that reaches back into the app through its defaults)
    make every module in the loop load with all the others: none may come back. Function-level imports count."""
    import grimp

    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    loops = sorted(
        {
            tuple(sorted(chain))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if (chain := graph.find_shortest_chain(importer=imported, imported=module)) is not None
        }
    )

    assert loops == [], "import loops:\n" + "\n".join(" -> ".join(loop) for loop in loops)
