# dnnl::dnnl for the main build and the fuzz build. Debian's dnnl-config.cmake
# insists on OpenCL headers (it is built with the OCL GPU runtime); kamado uses
# only the CPU engine, so the library is linked directly.
if(NOT TARGET dnnl::dnnl)
  find_library(DNNL_LIBRARY NAMES dnnl REQUIRED)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp REQUIRED)
  add_library(dnnl::dnnl UNKNOWN IMPORTED)
  set_target_properties(dnnl::dnnl PROPERTIES IMPORTED_LOCATION ${DNNL_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${DNNL_INCLUDE_DIR})
endif()
