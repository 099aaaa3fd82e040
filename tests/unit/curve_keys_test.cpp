#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scaler/protocol/curve_keys.h"

using namespace scaler;

namespace {
std::string freshDir() {
    static int n = 0;
    const auto dir = std::filesystem::path(::testing::TempDir()) /
                     ("curve-keys-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir);
    return dir.string();
}
std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(CurveKeys, FilesWrittenByKeygenReadBackAndTheSecretIsPrivate) {
    const std::string dir = freshDir();
    const CurveKeyPair keys = generateCurveKeyPair();
    writeCurveKeyFiles(dir, "worker", keys, false);
    EXPECT_EQ(readCurvePublicKeyFile(dir + "/worker.pub"), keys.publicKey);
    const CurveKeyPair back = readCurveSecretKeyFile(dir + "/worker.key");
    EXPECT_EQ(back.secretKey, keys.secretKey);
    EXPECT_EQ(back.publicKey, keys.publicKey);  // derived from the secret
    struct stat info {};
    ASSERT_EQ(stat((dir + "/worker.key").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_NE(
        errorOf([&] { writeCurveKeyFiles(dir, "worker", generateCurveKeyPair(), false); }).find("exists"),
        std::string::npos);
    EXPECT_EQ(readCurvePublicKeyFile(dir + "/worker.pub"), keys.publicKey);  // not replaced
}

TEST(CurveKeys, AllowListsFromAFileOrADirectory) {
    const std::string dir = freshDir();
    const auto a = generateCurveKeyPair(), b = generateCurveKeyPair();
    writeCurveKeyFiles(dir, "a", a, false);
    writeCurveKeyFiles(dir, "b", b, false);
    auto fromDir = readCurveAllowList(dir);  // the .pub files only, not the .key ones
    std::sort(fromDir.begin(), fromDir.end());
    std::vector<std::string> expected{a.publicKey, b.publicKey};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(fromDir, expected);
    std::ofstream(dir + "/list") << "# workers\n" << a.publicKey << "\n\n  " << b.publicKey << "  \n";
    EXPECT_EQ(readCurveAllowList(dir + "/list").size(), 2u);
}

TEST(CurveKeys, BadFilesAreNamedInTheError) {
    const std::string dir = freshDir();
    std::ofstream(dir + "/garbage.pub") << "not-a-key\n";
    std::ofstream(dir + "/empty") << "# nothing\n";
    EXPECT_NE(errorOf([&] { readCurvePublicKeyFile(dir + "/garbage.pub"); }).find("garbage.pub"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { readCurveAllowList(dir + "/empty"); }).find("holds no keys"), std::string::npos);
    EXPECT_NE(errorOf([&] { readCurvePublicKeyFile(dir + "/missing.pub"); }).find("missing.pub"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { loadCurveClientKeys(dir + "/x.pub", ""); }).find("both"), std::string::npos);
    EXPECT_FALSE(loadCurveClientKeys("", "").enabled());
}
