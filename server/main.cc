// sagaflowd: the sagaflow server. Flags and environment: `sagaflowd --help`
// and docs/SERVER.md.
#include "server/run.h"

int main(int argc, char** argv) {
  return sagaflow::server::RunSagaflowd(argc, argv);
}
