"""The table contracts: readers name the file and the missing columns, writers keep the types."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from blendtalk import tables
from blendtalk.arkit import ARKIT_NAMES


def _expressions(n: int) -> pd.DataFrame:
    keys = pd.DataFrame({"text_id": [f"{i:016x}" for i in range(n)], "split": ["train"] * n,
                         "emotion": ["joy"] * n, "description": ["smiles"] * n})
    return pd.concat([keys, pd.DataFrame(np.full((n, 52), 0.5), columns=list(ARKIT_NAMES))], axis=1)


def test_write_stores_contracted_types_even_for_empty_tables(tmp_path):
    for n in (0, 3):
        path = tmp_path / f"e{n}.parquet"
        tables.write(_expressions(n), path, tables.EXPRESSIONS)
        schema = pq.read_schema(path)
        assert schema.field("jawOpen").type == pa.float32()
        assert schema.field("text_id").type == pa.string()
        assert len(tables.read(path, tables.EXPRESSIONS)) == n


def test_write_keeps_extra_columns_and_attrs(tmp_path):
    df = _expressions(2).assign(extra=[1, 2])
    df.attrs["qc"] = {"read": 2}
    tables.write(df, tmp_path / "e.parquet", tables.EXPRESSIONS)
    back = pd.read_parquet(tmp_path / "e.parquet")
    assert back["extra"].tolist() == [1, 2]
    assert back.attrs["qc"] == {"read": 2}


def test_read_names_file_and_missing_columns(tmp_path):
    path = tmp_path / "bad.parquet"
    _expressions(1).drop(columns=["jawOpen", "split"]).to_parquet(path)
    with pytest.raises(tables.TableError, match=r"bad.parquet: the expressions table lacks column\(s\) split, jawOpen"):
        tables.read(path, tables.EXPRESSIONS)
    assert tables.read(path, tables.EXPRESSIONS, columns=["text_id"]).columns.tolist() == ["text_id"]


def test_read_of_a_non_parquet_file_names_it(tmp_path):
    path = tmp_path / "corpus.parquet"
    path.write_text("text_id,text\n")
    with pytest.raises(tables.TableError, match="corpus.parquet: not a readable corpus table"):
        tables.read(path, tables.CORPUS)


def test_writer_refuses_a_table_without_its_columns(tmp_path):
    with pytest.raises(tables.TableError, match="without"):
        tables.write(pd.DataFrame({"text_id": ["a"]}), tmp_path / "x.parquet", tables.CORPUS)
