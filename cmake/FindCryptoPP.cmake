# FindCryptoPP: Debian 12 ships Crypto++ with a pkg-config file (libcrypto++.pc) but no CMake
# package, so we build an imported target CryptoPP::CryptoPP from pkg-config.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_CRYPTOPP QUIET libcrypto++)
endif()
find_path(CryptoPP_INCLUDE_DIR NAMES cryptopp/cryptlib.h HINTS ${PC_CRYPTOPP_INCLUDE_DIRS})
find_library(CryptoPP_LIBRARY NAMES cryptopp crypto++ HINTS ${PC_CRYPTOPP_LIBRARY_DIRS})
set(CryptoPP_VERSION ${PC_CRYPTOPP_VERSION})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CryptoPP
  REQUIRED_VARS CryptoPP_LIBRARY CryptoPP_INCLUDE_DIR
  VERSION_VAR CryptoPP_VERSION
  REASON_FAILURE_MESSAGE "install Debian's libcrypto++-dev")

if(CryptoPP_FOUND AND NOT TARGET CryptoPP::CryptoPP)
  add_library(CryptoPP::CryptoPP UNKNOWN IMPORTED)
  set_target_properties(CryptoPP::CryptoPP PROPERTIES
    IMPORTED_LOCATION "${CryptoPP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CryptoPP_INCLUDE_DIR}")
endif()
mark_as_advanced(CryptoPP_INCLUDE_DIR CryptoPP_LIBRARY)
