# Rolling replacement with nothing lost (issue 18): two replicas of MobileNetV2 behind
# HAProxy under 8 req/s Poisson (well below one replica's capacity), each in turn SIGTERMed:
# HAProxy marks it DOWN while it still serves (the drain delay, 2 s, outlasts HAProxy's
# 2 × 500 ms checks), it exits 0, its replacement comes UP; 0 failed requests before and
# during the roll (HAProxy with retries 0). The longer run is docs/DEPLOY.md's benchmark.
add_test(NAME deploy.rollout
         COMMAND bash scripts/scale-out.sh --replicas 2 --rate 8 --duration 4 --roll
                 --drain-delay-s 2 --roll-duration 14
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(deploy.rollout PROPERTIES TIMEOUT 180
                     ENVIRONMENT "KAMADO_BINARY=$<TARGET_FILE:kamado>")
