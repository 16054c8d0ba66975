# deploy/kubernetes, validated offline (issue 18): the manifests against kubernetes-models
# and kamado's own rules, the validator against a broken copy, and the prometheus-adapter
# rules and probe paths against a live server's /metrics. Exit 77 is a skip (node_modules,
# promtool or the models missing); under KAMADO_REQUIRE_TEST_DATA=1 (make test) the
# scripts fail instead.
find_program(KAMADO_NODE node)
if(NOT KAMADO_NODE)
  set(KAMADO_NODE node)  # not found at configure time: the test then fails, never skips
endif()

add_test(NAME deploy.manifests
         COMMAND ${KAMADO_NODE} tests/deploy/validate_manifests.mjs
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME deploy.validator_selftest
         COMMAND ${KAMADO_NODE} tests/deploy/validator_selftest.mjs
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME deploy.live_metrics
         COMMAND bash tests/deploy/live_metrics_check.sh
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(deploy.manifests deploy.validator_selftest PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
set_tests_properties(deploy.live_metrics PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                     ENVIRONMENT "KAMADO_BINARY=$<TARGET_FILE:kamado>")
