"""The reader layer (_read): zfs/zpool -H output -> values, from output recorded on OpenZFS 2.3
in the lab (tests/unit/fixtures/zfs)."""
from ansible_collections.helix.zfs.plugins.module_utils import _read


def test_rows_splits_tabs_and_skips_blank_lines():
    assert _read.rows("a\tb\n\nc\td\n") == [["a", "b"], ["c", "d"]]


def test_rows_with_a_width_keeps_tabs_in_the_last_field_and_skips_short_rows():
    assert _read.rows("a\tb\tc\td\nno pools available\n", width=3) == [["a", "b", "c\td"]]


def test_table_is_one_dict_per_row():
    assert _read.table("tank\t100\n", ("name", "size")) == [{"name": "tank", "size": "100"}]


def test_parse_holds_of_recorded_output(fixture_text):
    assert _read.parse_holds(fixture_text("zfs", "holds.tsv")) == {"rd/a@s1": {"keep", "helix-resume"}}


def test_parse_send_size_takes_the_total_of_recorded_output(fixture_text):
    assert _read.parse_send_size(fixture_text("zfs", "send-nvP.tsv")) == 26336
    assert _read.parse_send_size("") == 0


def test_parse_destroy_dry_run_of_recorded_output(fixture_text):
    assert _read.parse_destroy_dry_run(fixture_text("zfs", "destroy-nvp.tsv")) == ["rd/a/b@s1", "rd/a/b"]
