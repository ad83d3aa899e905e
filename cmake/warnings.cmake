# libchat_warnings: an INTERFACE target that our own targets link privately to get the warning set.
# Consumers of libchat never inherit it.
add_library(libchat_warnings INTERFACE)
target_compile_options(libchat_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wno-missing-field-initializers>)
if(LIBCHAT_WARNINGS_AS_ERRORS)
  target_compile_options(libchat_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU,Clang>:-Werror>)
endif()
