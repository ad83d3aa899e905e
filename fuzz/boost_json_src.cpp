// Boost.JSON compiled from source into the fuzz targets, so that its parser and serializer are
// instrumented for coverage and checked by the sanitizers like our own code (the prebuilt
// libboost_json from Debian is neither). Its definitions take precedence over the shared
// library's at link time. Built only in the libFuzzer build (fuzz/CMakeLists.txt).
#include <boost/json/src.hpp>
