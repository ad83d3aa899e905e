// A plain main() for the fuzz targets, used when libFuzzer is not available (gcc, or
// LIBCHAT_FUZZ off): runs LLVMFuzzerTestOneInput once on every file named on the command line,
// and on every regular file under every directory named (recursively, hidden files skipped).
// Arguments that start with '-' are libFuzzer flags and are ignored, so that the same command
// line works with either build. A failed oracle aborts, so a failing input fails the run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), data.size());
  // A copy of exactly the input's size, as libFuzzer passes it, so that ASan sees any over-read.
  std::vector<std::uint8_t> copy(data.begin(), data.end());
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::size_t runs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;
    const fs::path path(arg);
    if (fs::is_directory(path)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        ok = run_file(f) && ok;
        ++runs;
      }
    } else {
      ok = run_file(path) && ok;
      ++runs;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs, %s\n", runs, ok ? "all passed" : "some could not be read");
  return ok ? 0 : 1;
}
