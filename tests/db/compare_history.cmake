# Compares `alembic history` with rollback_db_dump for one Alembic project.
#   cmake -DDUMP=<rollback_db_dump> -DALEMBIC=/usr/bin/alembic -DPROJECT=<folder with alembic.ini>
#         [-DGENERATE=<python3> -DCOUNT=<n>] -P compare_history.cmake
# With GENERATE, PROJECT is first (re)written by gen_migrations.py with COUNT migrations.
# Alembic 1.8 and rollback both read the versions folder in directory order, so the
# histories must be identical line for line.
if(GENERATE)
  file(REMOVE_RECURSE "${PROJECT}")
  execute_process(COMMAND "${GENERATE}" "${CMAKE_CURRENT_LIST_DIR}/gen_migrations.py" --count "${COUNT}" --out "${PROJECT}"
                  RESULT_VARIABLE gen_rc ERROR_VARIABLE gen_err OUTPUT_QUIET)
  if(NOT gen_rc EQUAL 0)
    message(FATAL_ERROR "gen_migrations.py failed (${gen_rc}):\n${gen_err}")
  endif()
endif()
set(ENV{DATABASE_URL} "sqlite:////nonexistent/unused.db")
set(ENV{PYTHONDONTWRITEBYTECODE} "1")
execute_process(COMMAND "${ALEMBIC}" history WORKING_DIRECTORY "${PROJECT}"
                RESULT_VARIABLE alembic_rc OUTPUT_VARIABLE alembic_out ERROR_VARIABLE alembic_err)
if(NOT alembic_rc EQUAL 0)
  message(FATAL_ERROR "alembic history failed (${alembic_rc}):\n${alembic_err}")
endif()
execute_process(COMMAND "${DUMP}" "${PROJECT}/alembic/versions"
                RESULT_VARIABLE dump_rc OUTPUT_VARIABLE dump_out ERROR_VARIABLE dump_err)
if(NOT dump_rc EQUAL 0)
  message(FATAL_ERROR "rollback_db_dump failed (${dump_rc}):\n${dump_err}")
endif()
if(NOT alembic_out STREQUAL dump_out)
  get_filename_component(name "${PROJECT}" NAME)
  file(WRITE "${PROJECT}/../${name}.history.alembic.txt" "${alembic_out}")
  file(WRITE "${PROJECT}/../${name}.history.rollback.txt" "${dump_out}")
  message(FATAL_ERROR "the histories differ: see ${PROJECT}/../${name}.history.{alembic,rollback}.txt")
endif()
string(REGEX MATCHALL "\n" newlines "${dump_out}")
list(LENGTH newlines count)
message(STATUS "identical histories (${count} revisions)")
