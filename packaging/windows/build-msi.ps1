<#
.SYNOPSIS
  Build the frozen one-folder bundle and the per-machine MSI: dist\softphone-assist-<version>.msi.

.DESCRIPTION
  packaging\windows\build-msi.ps1 [-Python python] [-SkipBundle]

  1. A build venv (build\windows\venv, git-ignored) gets the project, installed non-editable with
     the `app` extra, and the PyInstaller pinned in packaging\build-bundle (one pin for every OS).
  2. PyInstaller runs packaging\pyinstaller\softphone-assist.spec from a work dir outside the
     checkout's import path, with --distpath dist\bundle: the result is dist\bundle\softphone-assist\
     (softphone-assist.exe, softphone-assist-gui.exe, _internal\), the same layout as
     packaging\build-bundle makes on Linux. (build-bundle itself is not used here: it locks its
     cache with fcntl, which Windows has not.)
  3. The WiX Toolset (dotnet tool `wix`, version pinned below, with WixToolset.Util.wixext)
     builds packaging\windows\softphone-assist.wxs. The version comes from pyproject.toml.

  Needs: Python 3.11 (x64) and the .NET SDK 6 or later on PATH. Prints the MSI's path last.
  Exit code: 0 ok, non-zero when a step failed (the failing step is named).

.PARAMETER Python
  The interpreter that makes the build venv (default: python on PATH).

.PARAMETER SkipBundle
  Use the bundle already in dist\bundle\softphone-assist\ (it must start) instead of freezing anew.
#>
[CmdletBinding()]
param(
    [string]$Python = "python",
    [switch]$SkipBundle
)

Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

$WixVersion = "5.0.2"  # wix.exe and WixToolset.Util.wixext must be the same version
$Repo = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$Wxs = Join-Path $PSScriptRoot "softphone-assist.wxs"
$Bundle = Join-Path $Repo "dist\bundle\softphone-assist"
$Work = Join-Path $Repo "build\windows"

function Say([string]$Message) { [Console]::Error.WriteLine("build-msi: $Message") }

# Native commands do not throw on a non-zero exit in Windows PowerShell 5.1: check every one.
# Their output goes to the host, so that the script's only output is the MSI path.
function Invoke-Checked([string]$What, [scriptblock]$Command) {
    & $Command | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit $LASTEXITCODE)" }
}

function Get-ProjectVersion {
    $code = "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['project']['version'])"
    $version = (& $Python -c $code (Join-Path $Repo "pyproject.toml")).Trim()
    if ($LASTEXITCODE -ne 0) { throw "could not read the version from pyproject.toml with $Python" }
    # An MSI ProductVersion is major.minor.build, numbers only: 0.1.0.dev1 or 1.0rc1 cannot be one.
    if ($version -notmatch '^\d+\.\d+\.\d+$') {
        throw "pyproject.toml's version '$version' is not X.Y.Z (numbers only), which an MSI version must be"
    }
    return $version
}

function Get-PyInstallerPin {
    $text = Get-Content -Raw (Join-Path $Repo "packaging\build-bundle")
    if ($text -notmatch 'PYINSTALLER = "(pyinstaller==[^"]+)"') {
        throw "no PYINSTALLER = `"pyinstaller==X`" pin found in packaging\build-bundle"
    }
    return $Matches[1]
}

function Build-Bundle([string]$Pin) {
    $venv = Join-Path $Work "venv"
    $py = Join-Path $venv "Scripts\python.exe"
    if (-not (Test-Path $py)) {
        Say "creating the build venv $venv"
        Invoke-Checked "python -m venv" { & $Python -m venv $venv }
    }
    Say "installing the project (non-editable, app extra) and $Pin"
    Invoke-Checked "pip install" {
        & $py -m pip install --disable-pip-version-check -q --upgrade $Pin "$Repo[app]"
    }
    # Same version number as the previous build: force this checkout's code in.
    Invoke-Checked "pip install --force-reinstall" {
        & $py -m pip install --disable-pip-version-check -q --no-deps --force-reinstall "$Repo"
    }
    $pyiWork = Join-Path $Work "pyinstaller"
    New-Item -ItemType Directory -Force $pyiWork | Out-Null
    Say "running PyInstaller (a few minutes)"
    Push-Location $pyiWork  # not the checkout: the spec must import the installed package
    try {
        Invoke-Checked "PyInstaller" {
            & (Join-Path $venv "Scripts\pyinstaller.exe") --noconfirm --log-level WARN `
                --distpath (Join-Path $Repo "dist\bundle") --workpath (Join-Path $pyiWork "build") `
                (Join-Path $Repo "packaging\pyinstaller\softphone-assist.spec")
        }
    } finally {
        Pop-Location
    }
}

function Install-Wix {
    $have = $null
    if (Get-Command wix -ErrorAction SilentlyContinue) { $have = (& wix --version).Trim() }
    if ($null -eq $have -or -not $have.StartsWith($WixVersion)) {
        if ($null -ne $have) {
            Invoke-Checked "dotnet tool uninstall wix" { & dotnet tool uninstall --global wix }
        }
        Say "installing the WiX Toolset $WixVersion (dotnet tool)"
        Invoke-Checked "dotnet tool install wix" { & dotnet tool install --global wix --version $WixVersion }
        $env:PATH = "$env:PATH;$env:USERPROFILE\.dotnet\tools"
    }
    Invoke-Checked "wix extension add" { & wix extension add --global "WixToolset.Util.wixext/$WixVersion" }
}

$version = Get-ProjectVersion
if (-not $SkipBundle) { Build-Bundle (Get-PyInstallerPin) }

$exe = Join-Path $Bundle "softphone-assist.exe"
foreach ($need in @($exe, (Join-Path $Bundle "softphone-assist-gui.exe"))) {
    if (-not (Test-Path $need)) { throw "$need is missing: the bundle is not the layout the .wxs expects" }
}
$started = (& $exe --version | Out-String).Trim()
if ($LASTEXITCODE -ne 0 -or $started -ne "softphone-assist $version") {
    throw "the bundle does not start as version ${version}: '$exe --version' said '$started' (exit $LASTEXITCODE)"
}

Install-Wix
$msi = Join-Path $Repo "dist\softphone-assist-$version.msi"
Say "building $msi"
Invoke-Checked "wix build" {
    & wix build -arch x64 -ext WixToolset.Util.wixext `
        -d "Version=$version" -bindpath "bundle=$Bundle" `
        -o $msi $Wxs
}
Write-Output $msi
