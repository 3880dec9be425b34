"""Unit tests of the generator's building blocks (run by the ctest protocol_codegen_unit).

The generated C++ itself is tested by src/protocol/*_test.cc; these pin down the schema
reading rules that the C++ tests cannot see directly.
"""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import cpp  # noqa: E402
from schema import Message, VersionRange, snake, strip_comments  # noqa: E402


def message(fields, valid="0-5", flexible="3+", common=None):
    spec = {"type": "request", "name": "TestRequest", "apiKey": 99, "validVersions": valid,
            "flexibleVersions": flexible, "fields": fields}
    if common:
        spec["commonStructs"] = common
    return Message(spec)


class VersionRangeTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(repr(VersionRange.parse("3+")), "3+")
        self.assertEqual(repr(VersionRange.parse("1-4")), "1-4")
        self.assertEqual(repr(VersionRange.parse("2")), "2-2")
        self.assertTrue(VersionRange.parse("none").empty())

    def test_intersect(self):
        r = VersionRange.parse("3+").intersect(VersionRange.parse("0-5"))
        self.assertEqual((r.lo, r.hi), (3, 5))
        self.assertTrue(VersionRange.parse("6+").intersect(VersionRange.parse("0-5")).empty())


class NamingTest(unittest.TestCase):
    def test_snake(self):
        self.assertEqual(snake("ThrottleTimeMs"), "throttle_time_ms")
        self.assertEqual(snake("ISRNodes"), "isr_nodes")
        self.assertEqual(snake("TopicId"), "topic_id")
        self.assertEqual(snake("ApiVersions"), "api_versions")

    def test_comments_are_stripped(self):
        self.assertEqual(strip_comments('{ "a": 1 } // note\n// all\n'), '{ "a": 1 } \n\n')

    def test_keyword_and_reserved_members_are_renamed(self):
        m = message([{"name": "Default", "type": "int8", "versions": "0+"},
                      {"name": "Api", "type": "int8", "versions": "0+"}])
        self.assertEqual([f.member for f in m.body.fields], ["default_", "api_"])

    def test_type_named_like_a_member_is_renamed(self):
        m = message([{"name": "Cursor", "type": "Cursor", "versions": "0+",
                      "fields": [{"name": "Offset", "type": "int64", "versions": "0+"}]}])
        self.assertEqual(m.structs[0].cpp_name, "cursor_data")


class ConditionTest(unittest.TestCase):
    def test_conditions_fold_against_the_context(self):
        ctx = VersionRange.parse("0-5")
        self.assertEqual(cpp.cond(VersionRange.parse("0+"), ctx), "true")
        self.assertEqual(cpp.cond(VersionRange.parse("3+"), ctx), "version >= 3")
        self.assertEqual(cpp.cond(VersionRange.parse("1-2"), ctx), "version >= 1 && version <= 2")
        self.assertEqual(cpp.cond(VersionRange.parse("none"), ctx), "false")
        self.assertEqual(cpp.cond(VersionRange.parse("3+"), VersionRange.parse("3-5")), "true")


class FieldTest(unittest.TestCase):
    def test_tagged_field_is_not_positional(self):
        m = message([{"name": "A", "type": "int32", "versions": "3+", "taggedVersions": "3+",
                      "tag": 0, "default": "-1"}])
        f = m.body.fields[0]
        self.assertTrue(f.positional().empty())
        self.assertEqual(cpp.differs_from_default(f, "a"), "a != -1")

    def test_defaults(self):
        m = message([{"name": "A", "type": "int32", "versions": "0+", "default": "0x7fffffff"},
                     {"name": "B", "type": "string", "versions": "0+", "nullableVersions": "0+",
                      "default": "null"},
                     {"name": "C", "type": "int32", "versions": "0+", "default": "-2147483648"},
                     {"name": "D", "type": "[]int32", "versions": "0+", "nullableVersions": "1+"}])
        a, b, c, d = m.body.fields
        self.assertEqual(cpp.member_initializer(a), " = 2147483647")
        self.assertEqual(cpp.member_initializer(b), "")
        self.assertEqual(cpp.member_initializer(c), " = std::numeric_limits<std::int32_t>::min()")
        self.assertEqual(cpp.member_initializer(d), "{std::in_place}")
        self.assertEqual(cpp.member_type(d), "std::optional<std::vector<std::int32_t>>")

    def test_common_structs_are_resolved(self):
        m = message([{"name": "Items", "type": "[]Item", "versions": "0+"}],
                    common=[{"name": "Item", "versions": "0+",
                             "fields": [{"name": "X", "type": "int8", "versions": "0+"}]}])
        self.assertEqual(m.body.fields[0].struct.cpp_name, "item")

    def test_nullable_struct_has_a_marker_byte(self):
        m = message([{"name": "Cursor", "type": "Position", "versions": "0+",
                      "nullableVersions": "2+", "default": "null",
                      "fields": [{"name": "Offset", "type": "int64", "versions": "0+"}]}])
        f = m.body.fields[0]
        self.assertEqual(cpp.member_type(f), "std::optional<position>")
        decode = "\n".join(cpp.read_field(f, "r", "false", "version >= 2"))
        self.assertIn("if (version >= 2)", decode)
        self.assertIn("CAUDAL_TRY(r.read_int8(marker_));", decode)
        self.assertIn("if (marker_ < 0)", decode)
        encode = "\n".join(cpp.write_field(f, "w", "false", "version >= 2"))
        self.assertIn("w.write_int8(-1);", encode)
        self.assertIn("w.write_int8(1);", encode)
        self.assertIn("CAUDAL_ASSERT(cursor.has_value()", encode)

    def test_tagged_outside_flexible_versions_is_refused(self):
        with self.assertRaises(ValueError):
            message([{"name": "A", "type": "int32", "versions": "0+", "taggedVersions": "0+",
                      "tag": 0}])


if __name__ == "__main__":
    unittest.main()
