#include "model/classification.h"

#include <gtest/gtest.h>

namespace kamado::model {
namespace {

TEST(Classification, TopClassesAndVerdict) {
  ModelConfig config;
  config.labels = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
  config.decision = DecisionConfig{"safe", {"Neutral", "Drawing"}, {2, 0}, 0.5};
  const std::vector<float> p = {0.2f, 0.1f, 0.25f, 0.4f, 0.05f};
  auto top = TopClasses(config, p, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].label, "Porn");
  EXPECT_EQ(top[1].index, 2);
  auto v = Decide(config, p);
  ASSERT_TRUE(v.has_value());
  EXPECT_NEAR(v->score, 0.45, 1e-6);
  EXPECT_FALSE(v->value);
  config.decision->threshold = 0.45;
  EXPECT_TRUE(Decide(config, p)->value);
  config.decision.reset();
  EXPECT_FALSE(Decide(config, p).has_value());
}

TEST(Classification, TiesGoToTheLowerIndexAndKIsClamped) {
  ModelConfig config;  // no labels: "class_<i>"
  const std::vector<float> p = {0.3f, 0.3f, 0.4f};
  auto top = TopClasses(config, p, 10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 2);
  EXPECT_EQ(top[1].index, 0);
  EXPECT_EQ(top[2].index, 1);
  EXPECT_EQ(top[1].label, "class_0");
  EXPECT_TRUE(TopClasses(config, p, 0).empty());
}

}  // namespace
}  // namespace kamado::model
