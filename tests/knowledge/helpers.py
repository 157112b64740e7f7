"""Small builders of curated YAML for validation tests."""

from __future__ import annotations

from pathlib import Path

from exotwin.knowledge import packaged_data_dir

ENTITIES = packaged_data_dir() / "entities"

GOOD_MECHANISM = """\
records:
  - id: test.mir222-invasion
    kind: mechanism
    cargo: [miR-222]
    donor: {cell: breast_cancer_cell, state: tamoxifen_resistant, lines: [MCF-7]}
    recipient: {cell: bc_luminal}
    targets: [p27]
    pathway: p27 down
    effects:
      - {phenotype: tamoxifen_resistance, direction: promotes}
    context: {subtypes: [er_positive], models: [in_vitro]}
    seed: "000"
    section: "5.2"
    reference: "[107]"
    summary: A test record about exosomal miR-222 spreading tamoxifen resistance.
"""


def write_records(tmp_path: Path, text: str, name: str = "records.yaml") -> list[Path]:
    """A records file next to the packaged vocabularies, as paths for ``load_knowledge``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [ENTITIES, path]
