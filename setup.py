"""Ships the bundled content with the package: ``decks/*.yaml`` and ``labs/*.py`` are copied into the
wheel as ``mi_prep/bundled/decks`` and ``mi_prep/bundled/labs`` (found by ``mi_prep.core.locations``).
An editable install reads the top-level folders of the checkout instead. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTENT = (("decks", "*.yaml"), ("labs", "*.py"), ("labs", "*.safetensors"), ("labs", "*.json"))


class BuildWithContent(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, pattern in CONTENT:
            target = Path(self.build_lib, "mi_prep", "bundled", folder)
            for source in sorted(Path(folder).glob(pattern)):
                self.mkpath(str(target))
                self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildWithContent})
