from microasgi.datastructures import ImmutableMultiDict, MultiDict, QueryParams

params = QueryParams(b"tag=a&tag=b&q=hello+world&empty=&weird=1;2")

fields = ImmutableMultiDict([("tag", "a"), ("tag", "b")], page="1")

cart = MultiDict([("item", "apple")])
cart.append("item", "pear")  # add a value
cart["coupon"] = "SAVE10"  # set: replaces every value of the key
cart.update({"coupon": "SAVE20"})
removed = cart.poplist("item")


def test_query_params() -> None:
    assert params["tag"] == "b"  # the Mapping view shows the last value
    assert params.getlist("tag") == ["a", "b"]
    assert params["q"] == "hello world"
    assert params["empty"] == ""  # blank values are kept
    assert params["weird"] == "1;2"  # "&" is the only separator
    assert str(params) == "tag=a&tag=b&q=hello+world&empty=&weird=1%3B2"


def test_multidicts() -> None:
    assert fields.multi_items() == [("tag", "a"), ("tag", "b"), ("page", "1")]
    assert dict(fields) == {"tag": "b", "page": "1"}
    # Keys may come in any order; the values of one key must keep theirs.
    assert fields == ImmutableMultiDict([("page", "1"), ("tag", "a"), ("tag", "b")])
    assert fields != ImmutableMultiDict([("page", "1"), ("tag", "b"), ("tag", "a")])
    assert removed == ["apple", "pear"]
    assert cart.multi_items() == [("coupon", "SAVE20")]
