# The server in a container (issue 18): sizes from --cpus / --cpuset-cpus, the same answer
# through the container's port as from the host binary, podman stop drains and exits 0,
# a too-small --memory refused at start. On a test image made from the built binary in
# seconds (scripts/test-image.sh). Exit 77 is a skip, printed with its reason, only where
# podman cannot run (scripts/container-setup.sh says why); missing models fail.
add_test(NAME deploy.container
         COMMAND bash tests/deploy/container_test.sh
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(deploy.container PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 240
                     ENVIRONMENT "KAMADO_BINARY=$<TARGET_FILE:kamado>")
