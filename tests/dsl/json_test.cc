// Tests for dsl/json.h: bounded parsing, duplicate keys, location paths, type
// names, dumping.
#include "dsl/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sagaflow::dsl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

JsonParseOptions Defaults() { return JsonParseOptions{}; }

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// ----------------------------------------------------------------------------------------------
// Valid documents

TEST(JsonParseTest, ParsesObjectsArraysAndScalars) {
  auto parsed = ParseJson(
      R"({"s": "text", "i": -3, "u": 7, "f": 1.5, "t": true, "n": null,
          "a": [1, "two", {"three": 3}], "o": {"nested": {"deep": []}}})",
      Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const Json& doc = parsed.value();
  EXPECT_EQ(doc["s"], "text");
  EXPECT_EQ(doc["i"], -3);
  EXPECT_EQ(doc["u"], 7);
  EXPECT_DOUBLE_EQ(doc["f"].get<double>(), 1.5);
  EXPECT_EQ(doc["t"], true);
  EXPECT_TRUE(doc["n"].is_null());
  ASSERT_TRUE(doc["a"].is_array());
  ASSERT_EQ(doc["a"].size(), 3u);
  EXPECT_EQ(doc["a"][1], "two");
  EXPECT_EQ(doc["a"][2]["three"], 3);
  EXPECT_TRUE(doc["o"]["nested"]["deep"].is_array());
  EXPECT_TRUE(doc["o"]["nested"]["deep"].empty());
}

TEST(JsonParseTest, ParsesScalarDocuments) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, Json>>{
           {"42", Json(42)},
           {"\"hi\"", Json("hi")},
           {"null", Json(nullptr)},
           {"false", Json(false)},
           {"  [ ]  ", Json::array()},
           {"{}", Json::object()},
       }) {
    auto parsed = ParseJson(text, Defaults());
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().ToString();
    EXPECT_EQ(parsed.value(), expected) << text;
  }
}

TEST(JsonParseTest, ParsesUnicodeEscapes) {
  auto parsed = ParseJson(R"({"k": "caf\u00e9 \ud83d\ude00"})", Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value()["k"], "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(JsonParseTest, KeepsLargeIntegersExact) {
  auto parsed = ParseJson(
      R"([9223372036854775807, -9223372036854775808, 18446744073709551615])",
      Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value()[0].get<int64_t>(), INT64_MAX);
  EXPECT_EQ(parsed.value()[1].get<int64_t>(), INT64_MIN);
  EXPECT_EQ(parsed.value()[2].get<uint64_t>(), UINT64_MAX);
}

// ----------------------------------------------------------------------------------------------
// Syntax errors

TEST(JsonParseTest, SyntaxErrorNamesLineAndColumn) {
  auto parsed = ParseJson("{\n  \"a\": 1,\n  \"b\": }\n", Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  const std::string& message = parsed.error().message();
  EXPECT_THAT(message, HasSubstr("line 3"));
  EXPECT_THAT(message, HasSubstr("column"));
  EXPECT_THAT(message, Not(HasSubstr("[json.exception")));
  EXPECT_THAT(message, Not(HasSubstr("json.exception")));
}

TEST(JsonParseTest, RejectsMalformedDocumentsWithoutTheLibraryPrefix) {
  for (const std::string text : {
           "",
           "   ",
           "{",
           "[1, 2",
           "{\"a\" 1}",
           "{\"a\": 1,}",
           "[1,]",
           "{} extra",
           "[] []",
           "// comment\n{}",
           "{\"a\": 1 /* c */}",
           "'single'",
           "{a: 1}",
           "tru",
           "01",
           "\"unterminated",
           "\"bad escape \\q\"",
           "NaN",
       }) {
    auto parsed = ParseJson(text, Defaults());
    ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(parsed.error().message(), Not(HasSubstr("[json.exception")))
        << text;
    EXPECT_THAT(parsed.error().message(), HasSubstr("line")) << text;
    EXPECT_THAT(parsed.error().message(), HasSubstr("column")) << text;
  }
}

TEST(JsonParseTest, ErrorMessagesAreValidUtf8WhateverTheInput) {
  // nlohmann quotes the text it last read; raw bytes >= 0x80 from the input
  // (invalid UTF-8, or a character cut in half) are escaped as \xNN.
  for (const std::string& text :
       {std::string("\xff"), std::string("{\"a\": \xff}"),
        std::string("[\"ok\", \"bad \xff\"]"), std::string("\"\xc3\""),
        std::string("{\"\xc3\xa9\": tru\xc3\xa9}"), std::string("\xc3\xa9")}) {
    auto parsed = ParseJson(text, Defaults());
    ASSERT_FALSE(parsed.ok()) << text;
    const std::string& message = parsed.error().message();
    EXPECT_NO_THROW(Json(message).dump()) << message;
    for (char c : message) {
      EXPECT_LT(static_cast<unsigned char>(c), 0x80) << message;
    }
  }
  auto parsed = ParseJson("\xff", Defaults());
  EXPECT_THAT(parsed.error().message(), HasSubstr("\\xff"));
}

TEST(JsonParseTest, DumpJsonNeverThrowsAndIndents) {
  const Json bad = Json{{"k", std::string("a\xff"
                                          "b")}};
  EXPECT_THROW(bad.dump(), Json::type_error);
  EXPECT_EQ(DumpJson(bad),
            "{\"k\":\"a\xef\xbf\xbd"
            "b\"}");
  EXPECT_EQ(DumpJson(bad, 2),
            "{\n  \"k\": \"a\xef\xbf\xbd"
            "b\"\n}");
  EXPECT_EQ(DumpJson(Json::array({1, 2})), "[1,2]");
}

TEST(JsonParseTest, ErrorColumnPointsIntoTheLine) {
  auto parsed = ParseJson("[1, 2, x]", Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.error().message(), HasSubstr("line 1, column 8"));
}

// ----------------------------------------------------------------------------------------------
// Size limit

TEST(JsonParseTest, SizeLimitIsResourceExhausted) {
  JsonParseOptions options;
  options.max_bytes = 10;
  const std::string exact = "[1,2,3,45]";  // 10 bytes
  ASSERT_EQ(exact.size(), 10u);
  auto ok = ParseJson(exact, options);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();

  auto too_big = ParseJson("[1,2,3,456]", options);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(too_big.error().message(), HasSubstr("11"));
  EXPECT_THAT(too_big.error().message(), HasSubstr("10"));
}

TEST(JsonParseTest, SizeLimitAppliesBeforeSyntax) {
  JsonParseOptions options;
  options.max_bytes = 4;
  auto parsed = ParseJson("not json at all", options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kResourceExhausted);
}

TEST(JsonParseTest, DefaultSizeLimitIsTwoMebibytes) {
  const std::string padding(2 << 20, ' ');
  auto at_limit = ParseJson(std::string("1") + padding.substr(1), Defaults());
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().ToString();
  auto over = ParseJson(std::string("1") + padding, Defaults());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), StatusCode::kResourceExhausted);
}

// ----------------------------------------------------------------------------------------------
// Depth limit

TEST(JsonParseTest, DepthExactlyAtLimitIsAccepted) {
  const std::string arrays = Repeat("[", 64) + "1" + Repeat("]", 64);
  auto parsed = ParseJson(arrays, Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const Json* v = &parsed.value();
  for (int i = 0; i < 63; ++i) {
    ASSERT_TRUE(v->is_array());
    v = &(*v)[0];
  }
  EXPECT_EQ(*v, Json::array({1}));

  const std::string objects = Repeat("{\"a\":", 64) + "true" + Repeat("}", 64);
  auto parsed_objects = ParseJson(objects, Defaults());
  ASSERT_TRUE(parsed_objects.ok()) << parsed_objects.error().ToString();
}

TEST(JsonParseTest, EmptyContainersCountTowardsDepth) {
  EXPECT_TRUE(ParseJson(Repeat("[", 64) + Repeat("]", 64), Defaults()).ok());
  EXPECT_FALSE(
      ParseJson(Repeat("[", 64) + "{}" + Repeat("]", 64), Defaults()).ok());
}

TEST(JsonParseTest, DepthOneOverLimitIsRejected) {
  auto parsed = ParseJson(Repeat("[", 65) + Repeat("]", 65), Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message(), HasSubstr("64"));
}

TEST(JsonParseTest, DepthErrorNamesTheOffendingContainer) {
  // Root (1), "a" (2), "a.b" (3), "a.b[0]" (4): the fourth container crosses a
  // limit of 3.
  JsonParseOptions options;
  options.max_depth = 3;
  auto parsed = ParseJson(R"({"a": {"b": [[1]]}})", options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message(), HasSubstr("3"));
  EXPECT_THAT(parsed.error().message(), HasSubstr("a.b[0]"));
}

TEST(JsonParseTest, DepthErrorNamesTheOffendingContainerAfterSiblings) {
  // The offending container is the third element of "list" and sits under a
  // quoted key.
  JsonParseOptions options;
  options.max_depth = 3;
  auto parsed = ParseJson(R"({"x": 1, "my list": [[1], [2], [[3]]]})", options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.error().message(), HasSubstr("[\"my list\"][2][0]"));
}

TEST(JsonParseTest, DepthErrorAtDefaultLimitNamesThePath) {
  // Root (1), a (2), a.b (3), then 62 arrays: the 65th container is a.b
  // followed by 62 [0].
  const std::string text =
      "{\"a\":{\"b\":" + Repeat("[", 63) + Repeat("]", 63) + "}}";
  auto parsed = ParseJson(text, Defaults());
  ASSERT_FALSE(parsed.ok());
  const std::string expected = "a.b" + Repeat("[0]", 62);
  EXPECT_THAT(parsed.error().message(), HasSubstr(expected));
  EXPECT_THAT(parsed.error().message(), Not(HasSubstr(expected + "[0]")));

  // One array fewer is within the limit.
  const std::string ok_text =
      "{\"a\":{\"b\":" + Repeat("[", 62) + Repeat("]", 62) + "}}";
  EXPECT_TRUE(ParseJson(ok_text, Defaults()).ok());
}

TEST(JsonParseTest, DepthLimitOfOneAcceptsOnlyFlatDocuments) {
  JsonParseOptions options;
  options.max_depth = 1;
  EXPECT_TRUE(ParseJson("[1, 2, \"x\"]", options).ok());
  EXPECT_TRUE(ParseJson("{\"a\": 1}", options).ok());
  EXPECT_TRUE(ParseJson("7", options).ok());
  auto nested = ParseJson("{\"a\": []}", options);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code(), StatusCode::kInvalidArgument);
}

TEST(JsonParseTest, MillionDeepArraysAreRejectedCleanly) {
  const std::string text(1'000'000, '[');
  auto parsed = ParseJson(text, Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message(), HasSubstr("64"));
}

TEST(JsonParseTest, MillionDeepClosedArraysAreRejectedCleanly) {
  const std::string text = Repeat("[", 1'000'000) + Repeat("]", 1'000'000);
  auto parsed = ParseJson(text, Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
}

TEST(JsonParseTest, MillionDeepObjectsAreRejectedCleanly) {
  JsonParseOptions options;
  options.max_bytes =
      16 << 20;  // Let the depth limit, not the size limit, reject it.
  const std::string text = Repeat("{\"a\":", 1'000'000);
  auto parsed = ParseJson(text, options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message(), HasSubstr("64"));
  EXPECT_THAT(parsed.error().message(), HasSubstr("a.a.a"));
}

TEST(JsonParseTest, MillionDeepObjectsOverTheDefaultSizeAreResourceExhausted) {
  const std::string text = Repeat("{\"a\":", 1'000'000);
  auto parsed = ParseJson(text, Defaults());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), StatusCode::kResourceExhausted);
}

// ----------------------------------------------------------------------------------------------
// Duplicate keys

TEST(JsonParseTest, DuplicateKeyLastValueWins) {
  auto parsed = ParseJson(R"({"a": 1, "b": 2, "a": 3})", Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value(), Json({{"a", 3}, {"b", 2}}));
}

TEST(JsonParseTest, DuplicateKeyReplacesAContainerByAScalar) {
  auto parsed = ParseJson(R"({"a": {"x": [1, 2]}, "a": "flat"})", Defaults());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value(), Json({{"a", "flat"}}));
}

TEST(JsonParseTest, DuplicateKeysAreRecordedAtTheRoot) {
  std::vector<DuplicateKey> duplicates;
  auto parsed = ParseJson(R"({"a": 1, "a": 2})", Defaults(), &duplicates);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value()["a"], 2);
  ASSERT_EQ(duplicates.size(), 1u);
  EXPECT_EQ(duplicates[0].object_path, "$");
  EXPECT_EQ(duplicates[0].key, "a");
}

TEST(JsonParseTest, DuplicateKeysAreRecordedWithTheirObjectPath) {
  std::vector<DuplicateKey> duplicates;
  auto parsed = ParseJson(R"({
      "name": "wf",
      "steps": {
        "charge": {"type": "task", "type": "choice"},
        "ship": {"type": "task"},
        "charge": {"type": "fail"}
      },
      "list": [0, {"k": 1, "k": 2}],
      "name": "wf2"
    })",
                          Defaults(), &duplicates);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed.value()["name"], "wf2");
  EXPECT_EQ(parsed.value()["steps"]["charge"], Json({{"type", "fail"}}));
  EXPECT_EQ(parsed.value()["steps"]["ship"], Json({{"type", "task"}}));
  EXPECT_EQ(parsed.value()["list"][1], Json({{"k", 2}}));

  ASSERT_EQ(duplicates.size(), 4u);
  EXPECT_EQ(duplicates[0].object_path, "steps.charge");
  EXPECT_EQ(duplicates[0].key, "type");
  EXPECT_EQ(duplicates[1].object_path, "steps");
  EXPECT_EQ(duplicates[1].key, "charge");
  EXPECT_EQ(duplicates[2].object_path, "list[1]");
  EXPECT_EQ(duplicates[2].key, "k");
  EXPECT_EQ(duplicates[3].object_path, "$");
  EXPECT_EQ(duplicates[3].key, "name");
}

TEST(JsonParseTest, EveryRepetitionIsRecorded) {
  std::vector<DuplicateKey> duplicates;
  auto parsed =
      ParseJson(R"({"a": 1, "a": 2, "a": 3})", Defaults(), &duplicates);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), Json({{"a", 3}}));
  ASSERT_EQ(duplicates.size(), 2u);
  for (const DuplicateKey& d : duplicates) {
    EXPECT_EQ(d.object_path, "$");
    EXPECT_EQ(d.key, "a");
  }
}

TEST(JsonParseTest, DuplicateKeyPathQuotesNonIdentifierKeys) {
  std::vector<DuplicateKey> duplicates;
  auto parsed =
      ParseJson(R"({"my steps": {"x": 1, "x": 2}})", Defaults(), &duplicates);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(duplicates.size(), 1u);
  EXPECT_EQ(duplicates[0].object_path, "[\"my steps\"]");
  EXPECT_EQ(duplicates[0].key, "x");
}

TEST(JsonParseTest, NoDuplicatesRecordedForDistinctKeys) {
  std::vector<DuplicateKey> duplicates;
  auto parsed =
      ParseJson(R"({"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 2}]})",
                Defaults(), &duplicates);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(duplicates.empty());
}

// ----------------------------------------------------------------------------------------------
// JoinPath

TEST(JsonJoinPathTest, Identifiers) {
  EXPECT_EQ(JoinPath("", "name"), "name");
  EXPECT_EQ(JoinPath("steps", "a"), "steps.a");
  EXPECT_EQ(JoinPath("steps.a", "retry"), "steps.a.retry");
  EXPECT_EQ(JoinPath("steps", "snake_case-name2"), "steps.snake_case-name2");
}

TEST(JsonJoinPathTest, Indexes) {
  EXPECT_EQ(JoinPath("catch", 0), "catch[0]");
  EXPECT_EQ(JoinPath("", size_t{3}), "[3]");
  EXPECT_EQ(JoinPath("a.b", 12), "a.b[12]");
  EXPECT_EQ(JoinPath(JoinPath(JoinPath("steps.c", "catch"), 1), "next"),
            "steps.c.catch[1].next");
}

TEST(JsonJoinPathTest, KeysNeedingQuotes) {
  EXPECT_EQ(JoinPath("steps", "my step"), "steps[\"my step\"]");
  EXPECT_EQ(JoinPath("", "my step"), "[\"my step\"]");
  EXPECT_EQ(JoinPath("input", "a.b"), "input[\"a.b\"]");
  EXPECT_EQ(JoinPath("x", ""), "x[\"\"]");
  EXPECT_EQ(JoinPath("x", "say \"hi\""), "x[\"say \\\"hi\\\"\"]");
  EXPECT_EQ(JoinPath("x", "back\\slash"), "x[\"back\\\\slash\"]");
  EXPECT_EQ(JoinPath("x", "line\nbreak"), "x[\"line\\nbreak\"]");
  EXPECT_EQ(JoinPath("x", "$"), "x[\"$\"]");
  EXPECT_EQ(JoinPath(JoinPath("steps", "my step"), "next"),
            "steps[\"my step\"].next");
}

// ----------------------------------------------------------------------------------------------
// JsonTypeName

TEST(JsonTypeNameTest, NamesEveryType) {
  EXPECT_STREQ(JsonTypeName(Json::object()), "object");
  EXPECT_STREQ(JsonTypeName(Json::array()), "array");
  EXPECT_STREQ(JsonTypeName(Json("s")), "string");
  EXPECT_STREQ(JsonTypeName(Json(-1)), "number");
  EXPECT_STREQ(JsonTypeName(Json(1u)), "number");
  EXPECT_STREQ(JsonTypeName(Json(1.5)), "number");
  EXPECT_STREQ(JsonTypeName(Json(true)), "boolean");
  EXPECT_STREQ(JsonTypeName(Json(nullptr)), "null");
  EXPECT_STREQ(JsonTypeName(Json()), "null");
}

// ----------------------------------------------------------------------------------------------
// DumpJson

TEST(JsonDumpTest, CompactOutput) {
  Json value = {{"a", Json::array({1, "x", nullptr})}, {"b", {{"c", true}}}};
  EXPECT_EQ(DumpJson(value), R"({"a":[1,"x",null],"b":{"c":true}})");
  EXPECT_EQ(DumpJson(Json("plain")), "\"plain\"");
  EXPECT_EQ(DumpJson(Json(2.5)), "2.5");
}

TEST(JsonDumpTest, InvalidUtf8DoesNotThrow) {
  const Json value = {{"bad", std::string("ok \xff\xfe end")},
                      {"also", std::string("\xc3")}};
  // nlohmann's own dump throws on this; DumpJson must not.
  EXPECT_ANY_THROW(value.dump());
  std::string dumped;
  EXPECT_NO_THROW(dumped = DumpJson(value));
  EXPECT_THAT(dumped, HasSubstr("ok "));
  EXPECT_THAT(dumped, HasSubstr(" end"));
  // The result is itself valid JSON.
  auto reparsed = ParseJson(dumped, Defaults());
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().ToString();
  EXPECT_TRUE(reparsed.value()["bad"].is_string());
}

TEST(JsonDumpTest, RoundTripsThroughParse) {
  const std::string text =
      R"({"a":[1,2.5,"s",true,null,{"b":{}}],"u":18446744073709551615})";
  auto parsed = ParseJson(text, Defaults());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(DumpJson(parsed.value()), text);
}

}  // namespace
}  // namespace sagaflow::dsl
