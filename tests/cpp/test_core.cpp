#include <gtest/gtest.h>
int main_placeholder();
TEST(Core, Builds) { EXPECT_EQ(1 + 1, 2); }
