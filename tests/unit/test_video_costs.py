"""config/video_costs.csv (video_id,cost): read as video id -> cost, or refused naming the file, line and column."""

from decimal import Decimal

import pytest

from schemas.config import ConfigError
from schemas.video_costs import load_video_costs


def test_the_costs_are_read_by_video_id_with_studios_leading_space_trimmed(tmp_path):
    (tmp_path / "video_costs.csv").write_text(
        "\ufeffvideo_id,cost\nvidAAAAAAA1,500000\n -vidBBBBBB2,200000.5\nvid_CCCCCC3, 1500000.00 \n", encoding="utf-8")
    assert load_video_costs(tmp_path) == {"vidAAAAAAA1": Decimal("500000"), "-vidBBBBBB2": Decimal("200000.50"),
                                          "vid_CCCCCC3": Decimal("1500000")}


def test_without_the_file_no_video_has_a_cost(tmp_path):
    assert load_video_costs(tmp_path) == {} and load_video_costs(None) == {}


@pytest.mark.parametrize("text, problem", [
    ("video_id,cost\nvidAAAAAAA1,500000\nhttps://youtu.be/x,1\n",
     "line 3, column video_id: 'https://youtu.be/x' is not a YouTube video id"),
    ("video_id,cost\n,500000\n", "line 2, column video_id: '' is not a YouTube video id"),
    ("video_id,cost\nvidAAAAAAA1,\"500,000\"\n", "line 2, column cost: '500,000' is not an amount written as digits"),
    ("video_id,cost\nvidAAAAAAA1,¥500000\n", "line 2, column cost: '¥500000' is not an amount"),
    ("video_id,cost\nvidAAAAAAA1,1.005\n", "line 2, column cost: '1.005' is not an amount"),
    ("video_id,cost\nvidAAAAAAA1,0\n", "line 2, column cost: '0' must be above zero"),
    ("video_id,cost\nvidAAAAAAA1,12345678901234567\n", "line 2, column cost: '12345678901234567' has more than 16"),
    ("video_id,cost\nvidAAAAAAA1,1\nvidAAAAAAA1,2\n", "line 3: video vidAAAAAAA1 is given twice"),
    ("video_id,cost\nvidAAAAAAA1,1,JPY\n", "line 2: has 3 cells, the header 2"),
    ("video_id,cost\nvidAAAAAAA1\n", "line 2: has 1 cell, the header 2"),
    ("video,cost\nvidAAAAAAA1,1\n", "needs the header video_id,cost"),
])
def test_a_wrong_cost_table_names_the_file_line_and_column(tmp_path, text, problem):
    (tmp_path / "video_costs.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_video_costs(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "video_costs.csv")) and problem in str(err.value)
