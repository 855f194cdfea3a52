@echo off
rem Runs deploy.ps1 (the Cloud Run deploy) from cmd.exe: deploy.bat [ENV_FILE]
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0deploy.ps1" %*
exit /b %ERRORLEVEL%
