# FindErlInterface: erl_interface (libei) of the Erlang/OTP on PATH.
#
# Asks `erl` where erl_interface lives (code:lib_dir(erl_interface)), never a
# fixed path, so the same file works for Debian's erlang-dev, kerl or asdf
# installs. Defines the imported target ErlInterface::ei and the variables
# ErlInterface_FOUND, ErlInterface_ROOT, ErlInterface_VERSION (the
# erl_interface application version) and ErlInterface_OTP_RELEASE.
# Installed with the HordeCnode package so that consumers find it the same way.
include(FindPackageHandleStandardArgs)
find_program(ERL_EXECUTABLE erl)
if(ERL_EXECUTABLE AND NOT ErlInterface_ROOT)
  execute_process(
    COMMAND ${ERL_EXECUTABLE} -noshell -eval
      "io:format(\"~s;~s\", [code:lib_dir(erl_interface), erlang:system_info(otp_release)]), halt()."
    OUTPUT_VARIABLE _hc_ei_out RESULT_VARIABLE _hc_ei_result ERROR_QUIET)
  if(_hc_ei_result EQUAL 0)
    list(GET _hc_ei_out 0 _hc_ei_root)
    list(GET _hc_ei_out 1 _hc_otp)
    get_filename_component(_hc_ei_dir "${_hc_ei_root}" NAME)
    string(REGEX REPLACE "^erl_interface-" "" _hc_ei_version "${_hc_ei_dir}")
    set(ErlInterface_ROOT "${_hc_ei_root}" CACHE PATH "erl_interface root (from erl)")
    set(ErlInterface_VERSION "${_hc_ei_version}" CACHE STRING "erl_interface version")
    set(ErlInterface_OTP_RELEASE "${_hc_otp}" CACHE STRING "OTP release of erl")
  endif()
endif()
find_path(ErlInterface_INCLUDE_DIR ei.h HINTS ${ErlInterface_ROOT}/include NO_DEFAULT_PATH)
find_library(ErlInterface_LIBRARY NAMES libei.a ei HINTS ${ErlInterface_ROOT}/lib NO_DEFAULT_PATH)
find_package_handle_standard_args(ErlInterface
  REQUIRED_VARS ErlInterface_LIBRARY ErlInterface_INCLUDE_DIR
  VERSION_VAR ErlInterface_VERSION
  REASON_FAILURE_MESSAGE "install Erlang/OTP with its development files (Debian: erlang-dev) so that `erl` is on PATH")
if(ErlInterface_FOUND AND NOT TARGET ErlInterface::ei)
  find_package(Threads REQUIRED)
  add_library(ErlInterface::ei STATIC IMPORTED)
  set_target_properties(ErlInterface::ei PROPERTIES
    IMPORTED_LOCATION "${ErlInterface_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ErlInterface_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
