# Install rules, the CMake package (find_package(HordeCnode CONFIG)), the
# pkg-config file and the Debian package (cpack -G DEB).
include(CMakePackageConfigHelpers)

set(HC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/HordeCnode)
get_property(hc_layers GLOBAL PROPERTY HC_LAYER_TARGETS)

install(TARGETS ${hc_layers} hc_all EXPORT HordeCnodeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/horde_cnode)
install(TARGETS horde-cnode RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Public headers, by layer folder, under include/horde_cnode/.
foreach(dir interop crdt cnode horde sdk)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/horde_cnode/${dir}
    FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/generated/sdk/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/horde_cnode/sdk)

install(EXPORT HordeCnodeTargets NAMESPACE HordeCnode:: DESTINATION ${HC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/HordeCnodeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/HordeCnodeConfig.cmake INSTALL_DESTINATION ${HC_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version bump may break the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/HordeCnodeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/HordeCnodeConfig.cmake ${PROJECT_BINARY_DIR}/HordeCnodeConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/FindErlInterface.cmake DESTINATION ${HC_CMAKE_DIR})

# pkg-config: libei's location comes from the same erl lookup as the build's.
configure_file(${PROJECT_SOURCE_DIR}/cmake/horde-cnode.pc.in ${PROJECT_BINARY_DIR}/horde-cnode.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/horde-cnode.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/horde-cnode.service ${PROJECT_SOURCE_DIR}/packaging/horde-cnode.env
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# cpack -G DEB (from the build directory): an installable .deb of the
# program, libraries, headers and CMake package.
set(CPACK_PACKAGE_NAME horde-cnode)
set(CPACK_PACKAGE_VENDOR "horde-cnode")
set(CPACK_PACKAGE_CONTACT "horde-cnode maintainers <maintainers@horde-cnode.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # the program ships without debug info
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# libei is linked statically; the program itself needs only libc/libstdc++
# and Boost.Program_options at run time (found by shlibdeps); erlang-base
# provides epmd, which the node starts when none runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "erlang-base")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "erlang-dev, libboost-dev, libboost-program-options-dev")
include(CPack)
