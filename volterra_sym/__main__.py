from .cli.main import console

if __name__ == "__main__":  # not when a spawned worker process re-imports the main module
    console()
