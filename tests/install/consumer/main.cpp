#include <iostream>

#include <scaler/client/client.h>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    scaler::Client client(argv[1]);
    const std::string result = client.submit("echo", "installed").get();
    std::cout << "consumer got: " << result << "\n";
    return result == "installed" ? 0 : 1;
}
