from hello.cli import main


def test_greets_the_world(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out == "Hello, world!\n"


def test_greets_everyone(capsys):
    main(["Ada", "Grace"])
    assert capsys.readouterr().out == "Hello, Ada!\nHello, Grace!\n"
