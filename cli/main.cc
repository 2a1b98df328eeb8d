#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return sagaflow::cli::Main(argc, argv, std::cout, std::cerr);
}
