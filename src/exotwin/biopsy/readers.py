"""Read expression data: wide CSV/TSV, AnnData (.h5ad), qPCR Ct tables, EV small-RNA-seq counts.

Every reader returns a :class:`Dataset` (samples × analytes, miRBase-style names) and raises
:class:`BiopsyInputError` naming file, row and column on malformed input.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import BiopsyInputError, Problem, cell_problem
from .names import NameReport, analyte_class, is_analyte, normalise_names

Kind = Literal["signal", "ct", "counts"]
Format = Literal["auto", "wide", "h5ad", "qpcr", "counts"]
FORMATS: tuple[str, ...] = ("auto", "wide", "h5ad", "qpcr", "counts")
_MISSING = {"", "na", "nan", "n/a", "null", "none", "undetermined", "undet", "-"}
_CONTROL = re.compile(
    r"(healthy|control|normal|non-?cancer|benign|^0$|^c$|^ct$|^no$|^false$)", re.I
)
_MAX_SHOWN = 50

__all__ = [
    "FORMATS",
    "Dataset",
    "read_counts",
    "read_data",
    "read_h5ad",
    "read_qpcr_ct",
    "read_wide",
]


@dataclass
class Dataset:
    """Samples × analytes with optional labels; ``rows`` maps sample id to its file row."""

    values: pd.DataFrame
    kind: Kind
    source: Path
    labels: pd.Series | None = None
    label_column: str | None = None
    names: NameReport = field(default_factory=NameReport)
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    groups: pd.Series | None = None  # e.g. patient of each sample, for grouped CV
    group_column: str | None = None

    @property
    def classes(self) -> list[str]:
        return [] if self.labels is None else sorted(self.labels.unique())

    def positive_class(self, positive: str | None = None) -> str:
        """The case class of a binary label (see :meth:`positive_choice`)."""
        return self.positive_choice(positive)[0]

    def positive_choice(self, positive: str | None = None) -> tuple[str, str]:
        """The case class of a binary label and how it was chosen: ``positive`` if given,
        else the one class not named like a control, else the last in sorted order."""
        classes = self.classes
        if positive is not None:
            if positive not in classes:
                raise BiopsyInputError(
                    [
                        cell_problem(
                            self.source,
                            None,
                            self.label_column or "",
                            f"positive class {positive!r} is not among {classes}",
                        )
                    ]
                )
            return positive, "given with --positive"
        controls = [c for c in classes if _CONTROL.search(c)]
        cases = [c for c in classes if c not in controls]
        if len(controls) == 1 and len(cases) == 1:
            if controls[0] == "0":
                return cases[0], "the label not named 0"
            return cases[0], f"the class not named like a control, unlike {controls[0]!r}"
        return classes[-1], "last in sorted order: no class is named like a control; use --positive"


def read_data(
    path: Path | str,
    *,
    label: str | None = None,
    id_column: str | None = None,
    fmt: str = "auto",
    meta: Path | str | None = None,
    group: str | None = None,
) -> Dataset:
    """Read any supported format; labels (and ``group``, e.g. the patient of each sample, for
    grouped cross-validation) come from the file or from a metadata table."""
    path = Path(path)
    if not path.is_file():
        raise BiopsyInputError([cell_problem(path, None, "", "no such file")])
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "h5ad":
        return read_h5ad(path, label=label, id_column=id_column, group=group)
    if fmt == "wide":
        return read_wide(path, label=label, id_column=id_column, group=group)
    if meta is None and fmt == "counts":
        guess = path.with_name(path.name.replace("_expression_count", "_metadata"))
        meta = guess if guess != path and guess.is_file() else None
    data = read_qpcr_ct(path) if fmt == "qpcr" else read_counts(path)
    if meta is not None:
        attach_labels(data, meta, label=label, id_column=id_column, group=group)
    elif label is not None or group is not None:
        column = label if label is not None else str(group)
        raise BiopsyInputError(
            [
                cell_problem(
                    path,
                    None,
                    column,
                    f"column {column!r} needs a metadata table (--meta) for this format",
                )
            ]
        )
    return data


def detect_format(path: Path) -> str:
    """``h5ad``, ``qpcr`` (comment lines / ID_REF), ``counts`` (analytes in rows) or ``wide``."""
    if path.suffix.lower() == ".h5ad":
        return "h5ad"
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.strip().strip('"').strip()
            if not text.replace("\t", "").replace(",", ""):
                continue
            if text.startswith("#") or text.upper().startswith("ID_REF"):
                return "qpcr"
            first = re.split(r"[,\t]", text)[0].strip('"').strip().lower()
            if (
                first in {"mirna", "mirna_id", "gene", "feature", "name"}
                or "_expression_count" in path.name
            ):
                return "counts"
            return "wide"
    raise BiopsyInputError([cell_problem(path, None, "", "the file is empty")])


def _delimiter(path: Path, header: str) -> str:
    if path.suffix.lower() in {".tsv", ".txt", ".tab"}:
        return "\t"
    try:
        return csv.Sniffer().sniff(header, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def _read_strings(path: Path, header_row: int = 0) -> pd.DataFrame:
    try:
        with path.open(encoding="utf-8") as handle:
            lines = handle.readlines()
        sep = _delimiter(path, lines[header_row] if len(lines) > header_row else "")
        return pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, skiprows=header_row, encoding="utf-8"
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BiopsyInputError(
            [cell_problem(path, None, "", f"cannot read table: {exc}")]
        ) from None


MAX_VALUE = 1e15  # beyond any count, intensity or Ct; squares still fit in a float


def to_numeric(
    raw: pd.DataFrame, path: Path, row_of: list[int], *, allow_missing: bool
) -> pd.DataFrame:
    """Cells as floats; non-numeric, missing (unless allowed), infinite or absurdly large cells
    are problems."""
    text = raw.apply(lambda col: col.astype(str).str.strip())
    missing = text.apply(lambda col: col.str.lower().isin(_MISSING))
    values = text.mask(missing).apply(pd.to_numeric, errors="coerce").astype(float)
    problems: list[Problem] = []
    checks = [(values.isna() & ~missing, "not a number: {!r}")]
    if not allow_missing:
        checks.append((missing, "missing value (NaN): {!r}"))
    checks.append(
        (
            pd.DataFrame(np.isinf(values.to_numpy()), index=raw.index, columns=raw.columns),
            "infinite value: {!r}",
        )
    )
    huge = np.isfinite(values.to_numpy()) & (np.abs(values.fillna(0).to_numpy()) > MAX_VALUE)
    checks.append(
        (
            pd.DataFrame(huge, index=raw.index, columns=raw.columns),
            f"value beyond ±{MAX_VALUE:g}, larger than any measurement: {{!r}}",
        )
    )
    for mask, message in checks:
        rows, cols = np.nonzero(mask.to_numpy())
        for r, c in zip(rows[:_MAX_SHOWN], cols[:_MAX_SHOWN], strict=True):
            problems.append(
                cell_problem(path, row_of[r], str(raw.columns[c]), message.format(text.iat[r, c]))
            )
        if len(rows) > _MAX_SHOWN:
            problems.append(
                cell_problem(path, None, "", f"... {len(rows) - _MAX_SHOWN} more such cells")
            )
    if problems:
        raise BiopsyInputError(problems)
    return values


def _check_ids(ids: list[str], path: Path, row_of: list[int], column: str) -> None:
    seen: dict[str, int] = {}
    problems = []
    for sample, row in zip(ids, row_of, strict=True):
        if sample == "":
            problems.append(cell_problem(path, row, column, "empty sample id"))
        elif sample in seen:
            problems.append(
                cell_problem(
                    path,
                    row,
                    column,
                    f"duplicate sample id {sample!r} (first on row {seen[sample]})",
                )
            )
        else:
            seen[sample] = row
    if problems:
        raise BiopsyInputError(problems)


def _rename_analytes(
    columns: list[str], path: Path, row: int | None
) -> tuple[list[str], NameReport]:
    names, report = normalise_names(columns)
    problems = []
    seen: dict[str, str] = {}
    for raw, new in zip(columns, names, strict=True):
        if new in seen:
            problems.append(
                cell_problem(
                    path, row, raw, f"duplicate analyte: {raw!r} and {seen[new]!r} are both {new}"
                )
            )
        seen.setdefault(new, raw)
    if problems:
        raise BiopsyInputError(problems)
    if not any(is_analyte(n) for n in names):
        shown = ", ".join(columns[:5])
        raise BiopsyInputError(
            [
                cell_problem(
                    path,
                    row,
                    "",
                    (
                        f"no analyte matches a miRNA name or a molecule of the evidence graph "
                        f"(got {shown}...)"
                    ),
                )
            ]
        )
    return names, report


def _labels(values: pd.Series, path: Path, row_of: list[int], column: str) -> pd.Series:
    text = values.astype(str).str.strip()
    problems = [
        cell_problem(path, row, column, "missing label")
        for row, value in zip(row_of, text, strict=True)
        if value.lower() in _MISSING
    ]
    if problems:
        raise BiopsyInputError(problems)
    classes = sorted(text.unique())
    if len(classes) < 2:
        raise BiopsyInputError(
            [
                cell_problem(
                    path,
                    None,
                    column,
                    f"label has one class only ({classes[0]!r}); need at least two",
                )
            ]
        )
    return text


def _group_ids(values: pd.Series, path: Path, row_of: list[int], column: str) -> pd.Series:
    """Group ids as text; a missing one is a problem at its row."""
    text = values.astype(str).str.strip()
    problems = [
        cell_problem(path, row, column, "missing group id")
        for row, value in zip(row_of, text, strict=True)
        if value.lower() in _MISSING
    ]
    if problems:
        raise BiopsyInputError(problems[:_MAX_SHOWN])
    return text


def read_wide(
    path: Path | str,
    *,
    label: str | None = None,
    id_column: str | None = None,
    group: str | None = None,
) -> Dataset:
    """Samples in rows, analytes in columns, optional sample-id, label and group columns (CSV
    or TSV)."""
    path = Path(path)
    raw = _read_strings(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    columns = list(raw.columns)
    if len(set(columns)) != len(columns) or any(
        re.search(r"\.\d+$", c) and c.rsplit(".", 1)[0] in columns for c in columns
    ):
        dup = [c for c in columns if re.search(r"\.\d+$", c) and c.rsplit(".", 1)[0] in columns]
        raise BiopsyInputError([cell_problem(path, 1, c, "duplicate column name") for c in dup])
    for wanted in (label, id_column, group):
        if wanted is not None and wanted not in columns:
            raise BiopsyInputError(
                [
                    cell_problem(
                        path, 1, wanted, f"no such column (columns: {', '.join(columns[:8])}...)"
                    )
                ]
            )
    if id_column is None and columns and columns[0] != label and not is_analyte(columns[0]):
        id_column = columns[0]
    row_of = list(range(2, len(raw) + 2))
    if len(raw) == 0:
        raise BiopsyInputError([cell_problem(path, None, "", "no samples")])
    ids = (
        raw[id_column].astype(str).str.strip().tolist()
        if id_column
        else [f"row{r}" for r in row_of]
    )
    _check_ids(ids, path, row_of, id_column or "")
    analytes = [c for c in columns if c not in {label, id_column, group}]
    metadata = [c for c in analytes if not is_analyte(c) and _all_text(raw[c])]
    analytes = [c for c in analytes if c not in metadata]
    values = to_numeric(raw[analytes], path, row_of, allow_missing=False)
    names, report = _rename_analytes(analytes, path, 1)
    values.columns = names
    values.index = pd.Index(ids, name="sample")
    labels = None
    if label is not None:
        labels = _labels(raw[label], path, row_of, label)
        labels.index = values.index
    groups = None
    if group is not None:
        groups = _group_ids(raw[group], path, row_of, group)
        groups.index = values.index
    notes = [f"non-numeric columns skipped: {', '.join(metadata)}"] if metadata else []
    rows = dict(zip(ids, row_of, strict=True))
    return Dataset(values, "signal", path, labels, label, report, rows, notes, groups, group)


def _all_text(column: pd.Series) -> bool:
    """Whether no cell of a column reads as a number (a metadata column, not an analyte)."""
    return bool(pd.to_numeric(column.str.strip(), errors="coerce").isna().all())


def read_h5ad(
    path: Path | str,
    *,
    label: str | None = None,
    id_column: str | None = None,
    group: str | None = None,
) -> Dataset:
    """AnnData: ``X`` (obs × var), labels and ids from ``obs``; rows are 1-based obs positions."""
    import anndata

    path = Path(path)
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many kinds
        raise BiopsyInputError(
            [cell_problem(path, None, "", f"cannot read AnnData: {exc}")]
        ) from None
    matrix = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    analytes = [str(v) for v in adata.var_names]
    row_of = list(range(1, adata.n_obs + 1))
    for wanted in (label, id_column, group):
        if wanted is not None and wanted not in adata.obs.columns:
            raise BiopsyInputError(
                [cell_problem(path, None, f"obs.{wanted}", "no such obs column")]
            )
    ids = [str(v) for v in (adata.obs[id_column] if id_column else adata.obs_names)]
    _check_ids(ids, path, row_of, f"obs.{id_column}" if id_column else "obs_names")
    raw = pd.DataFrame(matrix.astype(object), columns=analytes)
    values = to_numeric(raw, path, row_of, allow_missing=False)
    names, report = _rename_analytes(analytes, path, None)
    values.columns = names
    values.index = pd.Index(ids, name="sample")
    labels = None
    if label is not None:
        labels = _labels(adata.obs[label].reset_index(drop=True), path, row_of, f"obs.{label}")
        labels.index = values.index
    groups = None
    if group is not None:
        obs = adata.obs[group].reset_index(drop=True)
        groups = _group_ids(obs, path, row_of, f"obs.{group}")
        groups.index = values.index
    kind: Kind = "counts" if adata.uns.get("exotwin_kind") == "counts" else "signal"
    rows = dict(zip(ids, row_of, strict=True))
    return Dataset(values, kind, path, labels, label, report, rows, [], groups, group)


def read_qpcr_ct(path: Path | str) -> Dataset:
    """Raw Ct table (GSE41922 layout): ``#`` comment lines, an ``ID_REF`` header, analytes in
    rows, samples in columns, blanks for undetected; replicate rows of an analyte are averaged."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BiopsyInputError([cell_problem(path, None, "", f"cannot read file: {exc}")]) from None
    header_at = next(
        (i for i, line in enumerate(lines) if line.strip().strip('"').upper().startswith("ID_REF")),
        None,
    )
    if header_at is None:
        raise BiopsyInputError([cell_problem(path, None, "ID_REF", "no ID_REF header line")])
    header = [c.strip().strip('"') for c in lines[header_at].split("\t")]
    samples = header[1:]
    while samples and samples[-1] == "":
        samples.pop()
    row_cells, row_of = [], []
    for i, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        cells = [c.strip().strip('"') for c in line.split("\t")]
        if not "".join(cells) or cells[0].startswith("#"):
            continue
        row_cells.append((cells + [""] * len(header))[: len(samples) + 1])
        row_of.append(i)
    _check_ids(samples, path, [header_at + 1] * len(samples), "ID_REF")
    raw = pd.DataFrame([c[1:] for c in row_cells], columns=samples)
    values = to_numeric(raw, path, row_of, allow_missing=True)
    names, report = normalise_names([c[0] for c in row_cells])
    values.index = pd.Index(names)
    replicated = sorted({n for n in names if names.count(n) > 1})
    values = values.groupby(level=0, sort=False).mean()
    if not any(analyte_class(n) == "mirna" for n in values.index):
        raise BiopsyInputError(
            [cell_problem(path, None, "ID_REF", "no analyte matches a miRNA name")]
        )
    frame = values.T
    frame.index.name = "sample"
    notes = [f"replicate rows averaged: {', '.join(replicated)}"] if replicated else []
    rows = dict.fromkeys(samples, header_at + 1)
    return Dataset(frame, "ct", path, None, None, report, rows, notes)


def read_counts(path: Path | str) -> Dataset:
    """Read counts (EV small-RNA-seq export): analytes in rows (first column), runs in columns."""
    path = Path(path)
    raw = _read_strings(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    first, runs = raw.columns[0], list(raw.columns[1:])
    _check_ids(runs, path, [1] * len(runs), "header")
    row_of = list(range(2, len(raw) + 2))
    values = to_numeric(raw[runs], path, row_of, allow_missing=False)
    negative = np.argwhere(values.to_numpy() < 0)
    if len(negative):
        raise BiopsyInputError(
            [
                cell_problem(path, row_of[r], runs[c], "negative count")
                for r, c in negative[:_MAX_SHOWN]
            ]
        )
    analytes = raw[first].astype(str).str.strip().tolist()
    names, report = normalise_names(analytes)
    if not any(analyte_class(n) == "mirna" for n in names):
        raise BiopsyInputError([cell_problem(path, None, first, "no analyte matches a miRNA name")])
    values.index = pd.Index(names)
    merged = sorted({n for n in names if names.count(n) > 1})
    frame = values.groupby(level=0, sort=False).sum().T
    frame.index.name = "sample"
    notes = [f"rows naming the same miRNA summed: {', '.join(merged)}"] if merged else []
    return Dataset(frame, "counts", path, None, None, report, dict.fromkeys(runs, 1), notes)


def attach_labels(
    data: Dataset,
    meta: Path | str,
    *,
    label: str | None,
    id_column: str | None = None,
    group: str | None = None,
) -> None:
    """Take labels (and groups) for ``data`` from a per-sample metadata table (id column:
    ``--id``, ``Run`` or the first column)."""
    meta = Path(meta)
    if not meta.is_file():
        raise BiopsyInputError([cell_problem(meta, None, "", "no such metadata file")])
    table = _read_strings(meta)
    columns = list(table.columns)
    key = id_column or ("Run" if "Run" in columns else columns[0])
    for wanted in (key, label, group):
        if wanted is not None and wanted not in columns:
            raise BiopsyInputError(
                [cell_problem(meta, 1, wanted, "no such column in the metadata")]
            )
    if label is None:
        return
    row_of = list(range(2, len(table) + 2))
    ids = table[key].astype(str).str.strip().tolist()
    _check_ids(ids, meta, row_of, key)
    if group is not None:
        groups = _group_ids(table[group], meta, row_of, group)
        groups.index = pd.Index(ids)
        absent = [s for s in data.values.index if s not in groups.index]
        if not absent:
            data.groups = groups.loc[data.values.index]
            data.group_column = group
    labels = _labels(table[label], meta, row_of, label)
    labels.index = pd.Index(ids)
    absent = [s for s in data.values.index if s not in labels.index]
    if absent:
        raise BiopsyInputError(
            [
                cell_problem(meta, None, key, f"sample {s!r} of {data.source.name} has no row")
                for s in absent[:_MAX_SHOWN]
            ]
        )
    data.labels = labels.loc[data.values.index]
    data.label_column = label
    if data.labels.nunique() < 2:
        raise BiopsyInputError(
            [cell_problem(meta, None, label, "label has one class only among the samples")]
        )
